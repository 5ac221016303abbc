package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Rng;
import io.tessera.core.tape.NodeContext;
import java.util.Objects;

/**
 * Inverted dropout inside a tape node: {@code y = x · m / (1 − p)} with {@code m = [u ≥ p]},
 * {@code u ~ U[0, 1)} drawn by {@link Rng#uniform} from a seed chosen by {@link TensorParallelRng}
 * according to whether {@code x} is replicated or split across the tensor-parallel group. Identity
 * when the tape is not training or {@code p = 0}.
 *
 * <p>Thread safety: immutable.
 */
public final class Dropout {

    /** Whether the activation a dropout applies to is replicated or split across the group. */
    public enum Region {
        /** Every rank holds the same values: masks agree across ranks. */
        REPLICATED,
        /** Every rank holds its own slice: masks differ across ranks. */
        SPLIT
    }

    private final double probability;
    private final Region region;
    private final TensorParallelRng rng;

    /**
     * @param probability drop probability in [0, 1)
     * @param region whether the activation is replicated or split
     * @param rng this rank's tracker
     */
    public Dropout(double probability, Region region, TensorParallelRng rng) {
        if (!(probability >= 0 && probability < 1)) {
            throw new IllegalArgumentException("dropout probability = " + probability
                    + " must be in [0, 1); use 0 to disable dropout");
        }
        this.probability = probability;
        this.region = Objects.requireNonNull(region, "region");
        this.rng = Objects.requireNonNull(rng, "rng");
    }

    /** @return the drop probability */
    public double probability() {
        return probability;
    }

    /** @return whether the activation is replicated or split */
    public Region region() {
        return region;
    }

    /**
     * The seed this dropout draws its mask from, per {@link TensorParallelRng}'s rule.
     *
     * @param nodeSeed the node's seed
     * @param stream which draw within the node
     * @return the mask seed
     */
    public long seed(long nodeSeed, int stream) {
        return region == Region.REPLICATED ? rng.replicatedSeed(nodeSeed, stream) : rng.splitSeed(nodeSeed, stream);
    }

    /**
     * Applies dropout inside an {@link io.tessera.core.tape.Op}.
     *
     * @param ctx the node's context (seed, training flag, scratch manager)
     * @param x the activation
     * @param stream distinguishes several dropouts within one node
     * @return {@code x} itself when inactive, else the dropped and rescaled activation
     */
    public NDArray apply(NodeContext ctx, NDArray x, int stream) {
        if (!ctx.training() || probability == 0) {
            return x;
        }
        // libtorch's fused dropout (one pass; its backward reuses the mask), seeded per the rule above.
        return Rng.seeded(seed(ctx.seed(), stream), () -> JniUtils.dropout((PtNDArray) x, probability, true));
    }
}
