package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * The Transformer's feed-forward block: {@code Y = GELU(X·W_1ᵀ + b_1)·W_2ᵀ + b_2}, {@code X, Y [B, T, C]},
 * inner width I.
 *
 * <p>Split: {@code W_1} is {@link ColumnParallelLinear column-parallel} (rank {@code r} computes inner
 * features {@code [r·I/p, (r+1)·I/p)}), GELU is element-wise so it applies to each slice, and
 * {@code W_2} is {@link RowParallelLinear row-parallel} over the same inner features. No communication
 * between the two products.
 *
 * <p>Collectives: forward {@code f} on {@code X} and {@code g} (all-reduce) on the output; backward one
 * all-reduce of {@code dX}.
 *
 * <p>Sequence parallelism ({@code optSequenceParallel(true)}, see {@link SequenceParallel}): {@code X}
 * and {@code Y} are this rank's positions {@code [B, T/p, C]}; forward all-gathers {@code X} along the
 * sequence ({@link GatherFromSequenceParallelRegion}, in place of {@code f}) and reduce-scatters the
 * output ({@link ReduceScatterToSequenceParallelRegion}, in place of {@code g}); backward all-gathers
 * {@code dY} and reduce-scatters {@code dX}. {@link #forward} then adds the second bias in a
 * {@link SequenceParallelFunction}, which sums its gradient over the group.
 *
 * <p>Nodes: {@code f}, one node for both products and the activation, {@code g}. The second bias is left
 * to the caller ({@link #forwardWithoutOutputBias}, with {@link BiasDropoutAdd}) or added in one more
 * node ({@link #forward}).
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class ParallelMLP {

    private final Communicator group;
    private final ColumnParallelLinear fc;
    private final RowParallelLinear proj;
    private final Gelu activation;
    private final boolean sequenceParallel;

    private ParallelMLP(Builder b) {
        this.group = b.parallel.tensor();
        this.sequenceParallel = b.sequenceParallel;
        this.fc = ColumnParallelLinear.builder(b.parallel, b.hidden, b.intermediate).optLayout(b.layout)
                .optWeightInitializer(b.init).build();
        this.proj = RowParallelLinear.builder(b.parallel, b.intermediate, b.hidden).optLayout(b.layout)
                .optWeightInitializer(b.outputInit).optSequenceParallel(b.sequenceParallel).build();
        this.activation = b.activation;
    }

    /**
     * @param parallel this rank's parallel context
     * @param hidden C
     * @param intermediate I, divisible by the tensor-parallel degree
     * @return a builder: exact GELU, {@link WeightLayout#OUT_IN}, N(0, 0.02²) weights
     */
    public static Builder builder(ParallelContext parallel, int hidden, int intermediate) {
        return new Builder(parallel, hidden, intermediate);
    }

    /** @return the column-parallel first layer (BERT {@code intermediate.dense}, GPT-2 {@code mlp.c_fc}) */
    public ColumnParallelLinear fc() {
        return fc;
    }

    /** @return the row-parallel second layer (BERT {@code output.dense}, GPT-2 {@code mlp.c_proj}) */
    public RowParallelLinear proj() {
        return proj;
    }

    /** @return the activation */
    public Gelu activation() {
        return activation;
    }

    /** @return whether the block takes and returns sequence shards {@code [B, T/p, C]} */
    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /**
     * This rank's slice of the block inside an op (no second bias, not reduced).
     *
     * @param ctx the node's context
     * @param x {@code [B, T, C]}, after {@code f} (or the sequence all-gather)
     * @return {@code [B, T, C]}, this rank's partial sum
     */
    public NDArray applyLocal(NodeContext ctx, NDArray x) {
        return proj.applyPartial(ctx, activation.apply(fc.apply(ctx, x)));   // via [B, T, I/p]
    }

    /**
     * Records {@code f}, the MLP node and {@code g} (under sequence parallelism: the sequence all-gather,
     * the MLP node and the sequence reduce-scatter); the caller adds {@link #proj()}'s bias.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @return {@code [B, T, C]} without the second bias, replicated; {@code [B, T/p, C]} under sequence
     *     parallelism
     */
    public Var forwardWithoutOutputBias(Tape tape, String name, Var x) {
        return forwardWithoutOutputBias(tape, name, x, false);
    }

    /**
     * As {@link #forwardWithoutOutputBias(Tape, String, Var)}, optionally checkpointing the MLP node: it
     * then keeps only its input (not the {@code [B, T, I/p]} inner activations) and reruns in backward.
     *
     * <p>Without checkpointing, and when the process-wide GEMM strategy is not libtorch's (see {@link
     * LinearFunction#strategyFor}), the block is three nodes: the first product, the activation and the
     * second product, the products with hand-written backward on that strategy. A checkpointed block is
     * one autograd node with libtorch's products, so that the inner activations are not kept.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @param checkpoint whether to recompute the MLP node in backward
     * @return {@code [B, T, C]} without the second bias, replicated; {@code [B, T/p, C]} under sequence
     *     parallelism
     */
    public Var forwardWithoutOutputBias(Tape tape, String name, Var x, boolean checkpoint) {
        Var in = SequenceParallel.enter(tape, group, name, x, sequenceParallel);
        Gemm gemm = checkpoint ? null : LinearFunction.strategyFor(tape, in);
        Var partial;
        if (gemm != null) {       // three nodes, the two products on the GEMM strategy
            Var inner = tape.call1(name + ".fc", fc.function(gemm), in);                                 // [B, T, I/p]
            Var activated = tape.apply1(name + ".act", false, (ctx, l) -> new NDList(activation.apply(l.singletonOrThrow())), inner);
            partial = tape.call1(name, proj.partialFunction(gemm), activated);                           // [B, T, C]
        } else {                  // one autograd node, recomputable as a whole
            partial = tape.apply1(name, checkpoint, (ctx, l) -> new NDList(applyLocal(ctx, l.singletonOrThrow())), in);
        }
        return SequenceParallel.exit(tape, group, name, partial, sequenceParallel);
    }

    /**
     * Records the whole block, second bias included.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @return {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     */
    public Var forward(Tape tape, String name, Var x) {
        Var y = forwardWithoutOutputBias(tape, name, x);
        if (proj.bias() == null) {
            return y;
        }
        return SequenceParallel.addBias(tape, group, name + ".bias", y, proj.bias(), sequenceParallel);
    }

    /**
     * Options of a {@link ParallelMLP}.
     *
     * <p>Thread safety: not thread-safe.
     */
    public static final class Builder {
        private final ParallelContext parallel;
        private final int hidden;
        private final int intermediate;
        private Gelu activation = Gelu.EXACT;
        private WeightLayout layout = WeightLayout.OUT_IN;
        private Initializer init = Initializer.normal(0.02f);
        private Initializer outputInit = Initializer.normal(0.02f);
        private boolean sequenceParallel;

        private Builder(ParallelContext parallel, int hidden, int intermediate) {
            this.parallel = Objects.requireNonNull(parallel, "parallel");
            this.hidden = hidden;
            this.intermediate = intermediate;
        }

        /**
         * @param activation {@link Gelu#EXACT} (BERT) or {@link Gelu#TANH} (GPT-2)
         * @return this builder
         */
        public Builder optActivation(Gelu activation) {
            this.activation = Objects.requireNonNull(activation, "activation");
            return this;
        }

        /**
         * @param layout weight layout of both layers
         * @return this builder
         */
        public Builder optLayout(WeightLayout layout) {
            this.layout = Objects.requireNonNull(layout, "layout");
            return this;
        }

        /**
         * @param init initialiser of the first weight
         * @return this builder
         */
        public Builder optInitializer(Initializer init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param init initialiser of the second weight
         * @return this builder
         */
        public Builder optOutputInitializer(Initializer init) {
            this.outputInit = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param sequenceParallel whether the block takes and returns this rank's sequence positions
         *     {@code [B, T/p, C]}, all-gathering before the first product and reduce-scattering after the
         *     second (default false)
         * @return this builder
         */
        public Builder optSequenceParallel(boolean sequenceParallel) {
            this.sequenceParallel = sequenceParallel;
            return this;
        }

        /**
         * Declares the block; allocates nothing.
         *
         * @return the block
         * @throws IllegalArgumentException if the degree does not divide I or C
         */
        public ParallelMLP build() {
            return new ParallelMLP(this);
        }
    }
}
