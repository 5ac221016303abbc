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
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * A linear layer split by input features: {@code Y = X·Aᵀ + b = Σ_r X_r·A_rᵀ + b} with
 * {@code X = [X_1, …, X_p]} split along its last dimension.
 *
 * <p>Split: the weight's input dimension ({@code A = [A_1, …, A_p]}, columns of an {@code [out, in]}
 * weight or rows of an {@code [in, out]} one) is cut into {@code p} equal slices; rank {@code r} holds
 * {@code A_r} and computes the partial product {@code X_r·A_rᵀ}. The bias is replicated and added once,
 * after the reduction.
 *
 * <p>Collectives: forward all-reduces the partial products ({@link ReduceFromTensorParallelRegion g});
 * backward runs none ({@code g}'s backward is the identity, and {@code dX_r = dY·A_r} is local). With
 * {@code inputIsParallel = false} a {@link ScatterToTensorParallelRegion scatter} first splits a
 * replicated {@code X} (backward: all-gather of {@code dX}).
 *
 * <p>Sequence parallelism ({@code optSequenceParallel(true)}, see {@link SequenceParallel}):
 * {@link ReduceScatterToSequenceParallelRegion} replaces {@code g}: forward reduce-scatters the partial
 * products along the sequence, so each rank gets the sum at its positions {@code [B, T/p, out]};
 * backward all-gathers {@code dY}. The replicated bias is then added to a shard, in a
 * {@link SequenceParallelFunction} that sums its gradient over the group. It needs a split input
 * ({@code inputIsParallel}).
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class RowParallelLinear extends Module {

    private final Communicator group;
    private final int inFeatures;
    private final int outFeatures;
    private final WeightLayout layout;
    private final boolean inputIsParallel;
    private final boolean sequenceParallel;
    private final Parameter weight;
    private final Parameter bias;

    private RowParallelLinear(Builder b) {
        this.group = b.parallel.tensor();
        int p = group.size();
        if (b.inFeatures < 1 || b.outFeatures < 1) {
            throw new IllegalArgumentException("RowParallelLinear(in = " + b.inFeatures + ", out = " + b.outFeatures
                    + "): sizes must be >= 1");
        }
        if (b.inFeatures % p != 0) {
            throw new IllegalArgumentException("RowParallelLinear: inFeatures = " + b.inFeatures
                    + " is not divisible by the tensor-parallel degree " + p + " (group " + group.name()
                    + "); each rank holds inFeatures / degree input features; choose a degree that divides "
                    + b.inFeatures);
        }
        this.inFeatures = b.inFeatures;
        this.outFeatures = b.outFeatures;
        this.layout = b.layout;
        this.inputIsParallel = b.inputIsParallel;
        if (b.sequenceParallel && !b.inputIsParallel) {
            throw new IllegalArgumentException("RowParallelLinear: sequenceParallel = true needs inputIsParallel = true, got false"
                    + " (group " + group.name() + "); under sequence parallelism the input comes split by features from a"
                    + " column-parallel layer; drop optInputIsParallel(false) or optSequenceParallel(true)");
        }
        this.sequenceParallel = b.sequenceParallel;
        this.weight = register("weight", Parameter.of(new Shape(layout.shape(inFeatures, outFeatures)),
                Partition.split(layout.inputDim(), group.rank(), p), b.weightInit, true));
        this.bias = b.bias ? register("bias", Parameter.of(new Shape(outFeatures), Partition.REPLICATED, Initializer.zeros(), false))
                : null;
    }

    /**
     * @param parallel this rank's parallel context (its tensor group splits the layer)
     * @param inFeatures input width, divisible by the tensor-parallel degree
     * @param outFeatures output width
     * @return a builder with a bias, {@link WeightLayout#OUT_IN}, N(0, 0.02²) weights, split input
     */
    public static Builder builder(ParallelContext parallel, int inFeatures, int outFeatures) {
        return new Builder(parallel, inFeatures, outFeatures);
    }

    /** @return the weight (this rank's slice) */
    public Parameter weight() {
        return weight;
    }

    /** @return the bias (replicated), or null when the layer has none */
    public Parameter bias() {
        return bias;
    }

    /** @return the full input width */
    public int inFeatures() {
        return inFeatures;
    }

    /** @return the output width */
    public int outFeatures() {
        return outFeatures;
    }

    /** @return whether {@link #forward} reduce-scatters along the sequence instead of all-reducing */
    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /**
     * This rank's partial product inside an op, {@code X_r·A_rᵀ}, without bias; the caller reduces it
     * with {@link ReduceFromTensorParallelRegion} and then adds {@link #bias()}.
     *
     * @param ctx the node's context
     * @param x {@code [..., in / p]}, this rank's slice
     * @return {@code [..., out]}, a partial sum
     */
    public NDArray applyPartial(NodeContext ctx, NDArray x) {
        NDArray w = ctx.param(weight);
        return x.matMul(layout == WeightLayout.OUT_IN ? w.transpose() : w);
    }

    /**
     * This rank's partial product as a node with a hand-written backward on {@code gemm} (no bias).
     *
     * @param gemm the product strategy
     * @return {@code X_r ↦ X_r·A_rᵀ}
     */
    TapeFunction partialFunction(Gemm gemm) {
        return new LinearFunction(weight, layout, null, gemm);
    }

    /**
     * Records the local product, {@code g} (or, under sequence parallelism, the sequence
     * reduce-scatter) and the bias. A group of one rank adds the bias in the same node.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [..., in / p]} (or {@code [..., in]} replicated when {@code inputIsParallel} is
     *     false); {@code [B, T, in / p]} under sequence parallelism
     * @return {@code [..., out]}, replicated; {@code [B, T/p, out]} under sequence parallelism
     * @throws IllegalArgumentException under sequence parallelism, if the degree does not divide {@code T}
     */
    public Var forward(Tape tape, String name, Var x) {
        Var in = inputIsParallel ? x : ScatterToTensorParallelRegion.apply(tape, group, name + ".scatter", x);
        boolean fuseBias = group.size() == 1 && bias != null;
        Gemm gemm = LinearFunction.strategyFor(tape, in);
        Var partial = gemm != null ? tape.call1(name, new LinearFunction(weight, layout, fuseBias ? bias : null, gemm), in)
                : tape.apply1(name, false, (ctx, l) -> {
                    NDArray y = applyPartial(ctx, l.singletonOrThrow());
                    return new NDList(fuseBias ? y.add(ctx.param(bias)) : y);
                }, in);
        Var sum = SequenceParallel.exit(tape, group, name, partial, sequenceParallel);
        if (bias == null || fuseBias) {
            return sum;
        }
        return SequenceParallel.addBias(tape, group, name + ".bias", sum, bias, sequenceParallel);
    }

    /**
     * Options of a {@link RowParallelLinear}.
     *
     * <p>Thread safety: not thread-safe.
     */
    public static final class Builder {
        private final ParallelContext parallel;
        private final int inFeatures;
        private final int outFeatures;
        private boolean bias = true;
        private WeightLayout layout = WeightLayout.OUT_IN;
        private Initializer weightInit = Initializer.normal(0.02f);
        private boolean inputIsParallel = true;
        private boolean sequenceParallel;

        private Builder(ParallelContext parallel, int inFeatures, int outFeatures) {
            this.parallel = Objects.requireNonNull(parallel, "parallel");
            this.inFeatures = inFeatures;
            this.outFeatures = outFeatures;
        }

        /**
         * @param bias whether the layer has a bias (default true)
         * @return this builder
         */
        public Builder optBias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * @param layout how the weight is stored (default {@link WeightLayout#OUT_IN})
         * @return this builder
         */
        public Builder optLayout(WeightLayout layout) {
            this.layout = Objects.requireNonNull(layout, "layout");
            return this;
        }

        /**
         * @param init initialiser of the <em>full</em> weight; each rank keeps its slice
         * @return this builder
         */
        public Builder optWeightInitializer(Initializer init) {
            this.weightInit = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param inputIsParallel whether the input arrives split (default true, as behind a
         *     column-parallel layer); false scatters a replicated input first
         * @return this builder
         */
        public Builder optInputIsParallel(boolean inputIsParallel) {
            this.inputIsParallel = inputIsParallel;
            return this;
        }

        /**
         * @param sequenceParallel whether {@link #forward} reduce-scatters its output along the sequence
         *     ({@link ReduceScatterToSequenceParallelRegion}) in place of {@code g} and adds the bias to
         *     the shard (default false); needs {@code inputIsParallel}
         * @return this builder
         */
        public Builder optSequenceParallel(boolean sequenceParallel) {
            this.sequenceParallel = sequenceParallel;
            return this;
        }

        /**
         * Declares the layer; allocates nothing.
         *
         * @return the layer
         * @throws IllegalArgumentException if the degree does not divide {@code inFeatures}, or sequence
         *     parallelism is asked for with a replicated input
         */
        public RowParallelLinear build() {
            return new RowParallelLinear(this);
        }
    }
}
