package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.Objects;

/**
 * A linear layer replicated on every tensor-parallel rank: {@code y = x·Wᵀ + b} ({@link
 * WeightLayout#OUT_IN}) or {@code y = x·W + b} ({@link WeightLayout#IN_OUT}).
 *
 * <p>Split: none; small layers outside the parallel region (BERT's pooler, masked-LM transform and
 * next-sentence classifier) are cheaper to replicate than to split. Collectives: none. Its input is
 * replicated, so every rank computes the same gradients.
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class Linear extends Module {

    private final Parameter weight;
    private final Parameter bias;
    private final WeightLayout layout;

    /**
     * @param inFeatures input width
     * @param outFeatures output width
     * @param bias whether the layer has a bias (zeros, no weight decay)
     * @param layout how the weight is stored
     * @param init initialiser of the weight
     */
    public Linear(int inFeatures, int outFeatures, boolean bias, WeightLayout layout, Initializer init) {
        if (inFeatures < 1 || outFeatures < 1) {
            throw new IllegalArgumentException("Linear(in = " + inFeatures + ", out = " + outFeatures + "): sizes must be >= 1");
        }
        this.layout = Objects.requireNonNull(layout, "layout");
        this.weight = register("weight", Parameter.of(new Shape(layout.shape(inFeatures, outFeatures)),
                Partition.REPLICATED, Objects.requireNonNull(init, "init"), true));
        this.bias = bias ? register("bias", Parameter.of(new Shape(outFeatures), Partition.REPLICATED, Initializer.zeros(), false))
                : null;
    }

    /** @return the weight */
    public Parameter weight() {
        return weight;
    }

    /** @return the bias, or null when the layer has none */
    public Parameter bias() {
        return bias;
    }

    /**
     * Computes inside an op.
     *
     * @param ctx the node's context
     * @param x {@code [..., in]}
     * @return {@code [..., out]}
     */
    public NDArray apply(NodeContext ctx, NDArray x) {
        NDArray w = ctx.param(weight);
        NDArray y = x.matMul(layout == WeightLayout.OUT_IN ? w.transpose() : w);
        return bias == null ? y : y.add(ctx.param(bias));
    }

    /**
     * Records one node: a {@link LinearFunction} on the process-wide GEMM strategy, or an autograd node
     * when that strategy is libtorch's (see {@link LinearFunction#strategyFor}).
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [..., in]}
     * @return {@code [..., out]}
     */
    public Var forward(Tape tape, String name, Var x) {
        Gemm gemm = LinearFunction.strategyFor(tape, x);
        if (gemm != null) {
            return tape.call1(name, new LinearFunction(weight, layout, bias, gemm), x);
        }
        return tape.apply1(name, false, (ctx, in) -> new NDList(apply(ctx, in.singletonOrThrow())), x);
    }
}
