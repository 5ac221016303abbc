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
 * A linear layer split by output features: {@code Y = X·Aᵀ + b = [X·A_1ᵀ + b_1, …, X·A_pᵀ + b_p]}.
 *
 * <p>Split: the weight's output dimension ({@code A = [A_1; …; A_p]}, rows of a {@code [out, in]}
 * weight or columns of an {@code [in, out]} one) and the bias are cut into {@code p} equal slices;
 * rank {@code r} holds {@code A_r} and {@code b_r} and computes {@code Y_r}, slice {@code r} of the
 * output's last dimension.
 *
 * <p>Collectives: forward runs {@link CopyToTensorParallelRegion f} on {@code X} (nothing moves) and,
 * with {@code gatherOutput}, an all-gather of {@code Y}; backward all-reduces {@code dX} (the
 * backward of {@code f}) and, with {@code gatherOutput}, only slices {@code dY}.
 *
 * <p>Sequence parallelism ({@code optSequenceParallel(true)}, see {@link SequenceParallel}): {@code X}
 * arrives as this rank's positions {@code [B, T/p, in]}, and {@link GatherFromSequenceParallelRegion}
 * replaces {@code f}: forward all-gathers {@code X} along the sequence to {@code [B, T, in]}, backward
 * reduce-scatters {@code dX} back to {@code [B, T/p, in]}. The output is {@code [B, T, out/p]} as before.
 *
 * <pre>{@code
 * ColumnParallelLinear fc = ColumnParallelLinear.builder(pc, 768, 3072).build();
 * Var h = fc.forward(tape, "mlp.c_fc", x);      // [B, T, 3072 / p]
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class ColumnParallelLinear extends Module {

    private final Communicator group;
    private final int inFeatures;
    private final int outFeatures;
    private final WeightLayout layout;
    private final boolean gatherOutput;
    private final boolean sequenceParallel;
    private final Parameter weight;
    private final Parameter bias;

    private ColumnParallelLinear(Builder b) {
        this.group = b.parallel.tensor();
        int p = group.size();
        if (b.inFeatures < 1 || b.outFeatures < 1) {
            throw new IllegalArgumentException("ColumnParallelLinear(in = " + b.inFeatures + ", out = " + b.outFeatures
                    + "): sizes must be >= 1");
        }
        if (b.outFeatures % p != 0) {
            throw new IllegalArgumentException("ColumnParallelLinear: outFeatures = " + b.outFeatures
                    + " is not divisible by the tensor-parallel degree " + p + " (group " + group.name()
                    + "); each rank holds outFeatures / degree output features; choose a degree that divides "
                    + b.outFeatures);
        }
        this.inFeatures = b.inFeatures;
        this.outFeatures = b.outFeatures;
        this.layout = b.layout;
        this.gatherOutput = b.gatherOutput;
        this.sequenceParallel = b.sequenceParallel;
        int r = group.rank();
        this.weight = register("weight", Parameter.of(new Shape(layout.shape(inFeatures, outFeatures)),
                Partition.split(layout.outputDim(), r, p), b.weightInit, true));
        this.bias = b.bias ? register("bias", Parameter.of(new Shape(outFeatures), Partition.split(0, r, p), b.biasInit, false))
                : null;
    }

    /**
     * @param parallel this rank's parallel context (its tensor group splits the layer)
     * @param inFeatures input width
     * @param outFeatures output width, divisible by the tensor-parallel degree
     * @return a builder with a bias, {@link WeightLayout#OUT_IN}, N(0, 0.02²) weights, no output gather
     */
    public static Builder builder(ParallelContext parallel, int inFeatures, int outFeatures) {
        return new Builder(parallel, inFeatures, outFeatures);
    }

    /** @return the weight (this rank's slice) */
    public Parameter weight() {
        return weight;
    }

    /** @return the bias (this rank's slice), or null when the layer has none */
    public Parameter bias() {
        return bias;
    }

    /** @return the input width */
    public int inFeatures() {
        return inFeatures;
    }

    /** @return the full output width */
    public int outFeatures() {
        return outFeatures;
    }

    /** @return this rank's output width, {@code outFeatures / p} */
    public int localOutFeatures() {
        return outFeatures / group.size();
    }

    /** @return the weight layout */
    public WeightLayout layout() {
        return layout;
    }

    /** @return whether {@link #forward} takes a sequence shard and all-gathers it instead of {@code f} */
    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /**
     * This rank's part inside an op, {@code Y_r = X·A_rᵀ + b_r}; the caller has put {@code X} through
     * {@link CopyToTensorParallelRegion}.
     *
     * @param ctx the node's context
     * @param x {@code [..., in]}, replicated
     * @return {@code [..., out / p]}
     */
    public NDArray apply(NodeContext ctx, NDArray x) {
        NDArray w = ctx.param(weight);
        NDArray y = x.matMul(layout == WeightLayout.OUT_IN ? w.transpose() : w);
        return bias == null ? y : y.add(ctx.param(bias));
    }

    /**
     * This rank's part as a node with a hand-written backward on {@code gemm}; the caller has put
     * {@code X} through {@link CopyToTensorParallelRegion}.
     *
     * @param gemm the product strategy
     * @return {@code X ↦ X·A_rᵀ + b_r}
     */
    TapeFunction function(Gemm gemm) {
        return new LinearFunction(weight, layout, bias, gemm);
    }

    /**
     * Records {@code f} (or, under sequence parallelism, the sequence all-gather), the local product
     * and, with {@code gatherOutput}, the all-gather of the output features.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [..., in]}, replicated; {@code [B, T/p, in]} under sequence parallelism
     * @return {@code [..., out / p]}, or {@code [..., out]} with {@code gatherOutput}; {@code T} whole
     */
    public Var forward(Tape tape, String name, Var x) {
        Var in = SequenceParallel.enter(tape, group, name, x, sequenceParallel);
        Gemm gemm = LinearFunction.strategyFor(tape, in);
        Var y = gemm != null ? tape.call1(name, function(gemm), in)
                : tape.apply1(name, false, (ctx, l) -> new NDList(apply(ctx, l.singletonOrThrow())), in);
        return gatherOutput ? GatherFromTensorParallelRegion.apply(tape, group, name + ".gather", y) : y;
    }

    /**
     * Options of a {@link ColumnParallelLinear}.
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
        private Initializer biasInit = Initializer.zeros();
        private boolean gatherOutput;
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
         * @param init initialiser of the full bias (default zeros)
         * @return this builder
         */
        public Builder optBiasInitializer(Initializer init) {
            this.biasInit = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param gatherOutput whether {@link #forward} all-gathers the output (default false)
         * @return this builder
         */
        public Builder optGatherOutput(boolean gatherOutput) {
            this.gatherOutput = gatherOutput;
            return this;
        }

        /**
         * @param sequenceParallel whether {@link #forward} takes this rank's sequence positions
         *     {@code [B, T/p, in]} and all-gathers them ({@link GatherFromSequenceParallelRegion}) in
         *     place of {@code f} (default false)
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
         * @throws IllegalArgumentException if the degree does not divide {@code outFeatures}
         */
        public ColumnParallelLinear build() {
            return new ColumnParallelLinear(this);
        }
    }
}
