package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.core.Scalars;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Multi-head self-attention with the heads split across the tensor-parallel group:
 * <pre>
 *   Q, K, V = X·W_qᵀ + b_q, X·W_kᵀ + b_k, X·W_vᵀ + b_v            [B, T, C] each, A heads of D = C/A
 *   P_h     = softmax(Q_h·K_hᵀ / √D + M)                          [B, A, T, T]
 *   Y       = concat_h(P_h·V_h)·W_oᵀ + b_o                         [B, T, C]
 * </pre>
 * where {@code M} is 0 where key {@code j} may be attended from query {@code i} and
 * {@code −3.4028235e38} ({@code torch.finfo(float32).min}, as Hugging Face) elsewhere: key {@code j} is
 * padding ({@code attention_mask[b, j] = 0}) or, when causal, {@code j > i}.
 *
 * <p>Split: Q, K and V are {@link ColumnParallelLinear column-parallel} with rank {@code r} holding
 * heads {@code [r·A/p, (r+1)·A/p)}: separate {@code query/key/value} layers (BERT) or one fused
 * {@code [q|k|v]} layer stored rank-major ({@link FusedQkv}, GPT-2's {@code c_attn}). The output
 * projection is {@link RowParallelLinear row-parallel} over the same heads. Each rank computes its
 * heads' attention without communication.
 *
 * <p>Collectives: forward {@code f} on {@code X} and {@code g} (all-reduce) on the output; backward one
 * all-reduce of {@code dX}. Attention-probability dropout draws split-region masks
 * ({@link TensorParallelRng}): each rank's heads get their own.
 *
 * <p>Sequence parallelism ({@code optSequenceParallel(true)}, see {@link SequenceParallel}): {@code X}
 * and {@code Y} are this rank's positions {@code [B, T/p, C]}; forward all-gathers {@code X} along the
 * sequence ({@link GatherFromSequenceParallelRegion}, in place of {@code f}), so the heads attend over
 * the whole sequence and the attention mask stays {@code [B, T]}, and reduce-scatters the output
 * ({@link ReduceScatterToSequenceParallelRegion}, in place of {@code g}); backward all-gathers
 * {@code dY} and reduce-scatters {@code dX}. {@link #forward} then adds the output bias in a
 * {@link SequenceParallelFunction}, which sums its gradient over the group.
 *
 * <p>Precision: with fp16 activations the scores {@code Q_h·K_hᵀ/√D} are computed in fp16, then the
 * fp32 mask is added (type promotion makes the sum fp32: {@code M} is far outside the fp16 range) and
 * the softmax taken in fp32, and the probabilities are rounded to fp16 for the product with {@code V}
 * ({@link DifferentiableCast}), as Megatron's {@code softmax_in_fp32}.
 *
 * <p>Nodes: {@code f}, one node for the projections, attention and the local output product, {@code g}.
 * The output bias is left to the caller ({@link #forwardWithoutOutputBias}, fused into the residual
 * node with {@link BiasDropoutAdd}) or added in one more node ({@link #forward}).
 *
 * <p>The projections are {@link io.tessera.core.nn.Module}s that the model registers wherever its
 * checkpoint format names them ({@code attention.self.query}, {@code attn.c_attn}, …).
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class ParallelSelfAttention {

    /** The additive mask value of disallowed positions: {@code torch.finfo(torch.float32).min}. */
    public static final float MASKED = -Float.MAX_VALUE;

    private static final int DROPOUT_STREAM = 1;

    private final Communicator group;
    private final int heads;
    private final int headDim;
    private final boolean causal;
    private final boolean sequenceParallel;
    private final ColumnParallelLinear query;
    private final ColumnParallelLinear key;
    private final ColumnParallelLinear value;
    private final ColumnParallelLinear fused;
    private final RowParallelLinear output;
    private final Dropout attentionDropout;

    private ParallelSelfAttention(Builder b) {
        ParallelContext pc = b.parallel;
        this.group = pc.tensor();
        int p = group.size();
        if (b.hidden < 1 || b.heads < 1 || b.hidden % b.heads != 0) {
            throw new IllegalArgumentException("ParallelSelfAttention: hidden = " + b.hidden + " must be a positive multiple of heads = "
                    + b.heads + " (each head gets hidden / heads dimensions)");
        }
        if (b.heads % p != 0) {
            throw new IllegalArgumentException("ParallelSelfAttention: heads = " + b.heads
                    + " is not divisible by the tensor-parallel degree " + p + " (group " + group.name()
                    + "); each rank computes heads / degree whole heads; choose a degree that divides " + b.heads);
        }
        int hidden = b.hidden;
        this.heads = b.heads;
        this.headDim = b.hidden / b.heads;
        this.causal = b.causal;
        this.sequenceParallel = b.sequenceParallel;
        if (b.fusedQkv) {
            int outDim = b.layout.outputDim();
            this.fused = ColumnParallelLinear.builder(pc, hidden, 3 * hidden).optLayout(b.layout)
                    .optWeightInitializer(FusedQkv.initializer(b.init, outDim, p))
                    .optBiasInitializer(FusedQkv.initializer(Initializer.zeros(), 0, p)).build();
            this.query = null;
            this.key = null;
            this.value = null;
        } else {
            this.fused = null;
            this.query = ColumnParallelLinear.builder(pc, hidden, hidden).optLayout(b.layout).optWeightInitializer(b.init).build();
            this.key = ColumnParallelLinear.builder(pc, hidden, hidden).optLayout(b.layout).optWeightInitializer(b.init).build();
            this.value = ColumnParallelLinear.builder(pc, hidden, hidden).optLayout(b.layout).optWeightInitializer(b.init).build();
        }
        this.output = RowParallelLinear.builder(pc, hidden, hidden).optLayout(b.layout).optWeightInitializer(b.outputInit)
                .optSequenceParallel(b.sequenceParallel).build();
        this.attentionDropout = new Dropout(b.attentionDropout, Dropout.Region.SPLIT, new TensorParallelRng(group.rank()));
    }

    /**
     * @param parallel this rank's parallel context
     * @param hidden C
     * @param heads A, divisible by the tensor-parallel degree
     * @return a builder: separate q/k/v, {@link WeightLayout#OUT_IN}, not causal, no dropout,
     *     N(0, 0.02²) weights
     */
    public static Builder builder(ParallelContext parallel, int hidden, int heads) {
        return new Builder(parallel, hidden, heads);
    }

    /** @return the query projection; null with a fused projection */
    public ColumnParallelLinear query() {
        return query;
    }

    /** @return the key projection; null with a fused projection */
    public ColumnParallelLinear key() {
        return key;
    }

    /** @return the value projection; null with a fused projection */
    public ColumnParallelLinear value() {
        return value;
    }

    /** @return the fused {@code [q|k|v]} projection (rank-major, see {@link FusedQkv}); null with separate ones */
    public ColumnParallelLinear fusedQkv() {
        return fused;
    }

    /** @return the row-parallel output projection */
    public RowParallelLinear output() {
        return output;
    }

    /** @return whether query {@code i} sees only keys {@code j ≤ i} */
    public boolean causal() {
        return causal;
    }

    /** @return whether the block takes and returns sequence shards {@code [B, T/p, C]} */
    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /** @return A / p, the heads this rank computes */
    public int localHeads() {
        return heads / group.size();
    }

    /**
     * This rank's heads and its partial output product inside an op (no output bias, not reduced).
     *
     * <p>Shapes: B batch, T sequence, C hidden, h = A/p local heads, D head dimension.
     *
     * @param ctx the node's context
     * @param x {@code [B, T, C]}, after {@code f} (or the sequence all-gather)
     * @param attentionMask {@code [B, T]}, 1 for tokens and 0 for padding, or null
     * @return {@code [B, T, C]}, this rank's partial sum
     */
    public NDArray applyLocal(NodeContext ctx, NDArray x, NDArray attentionMask) {
        NDArray q;
        NDArray k;
        NDArray v;
        if (fused != null) {
            NDList qkv = fused.apply(ctx, x).split(3, 2);                 // 3 × [B, T, C/p]
            q = qkv.get(0);
            k = qkv.get(1);
            v = qkv.get(2);
        } else {
            q = query.apply(ctx, x);
            k = key.apply(ctx, x);
            v = value.apply(ctx, x);
        }
        return output.applyPartial(ctx, attend(ctx, q, k, v, attentionMask));   // [B, T, C]
    }

    /**
     * The attention of this rank's heads from its projected queries, keys and values, inside an op:
     * {@code softmax(Q·Kᵀ/√D + M)·V} with dropout on the probabilities.
     *
     * @param ctx the node's context
     * @param q {@code [B, T, C/p]}
     * @param k {@code [B, T, C/p]}
     * @param v {@code [B, T, C/p]}
     * @param attentionMask {@code [B, T]}, 1 for tokens and 0 for padding, or null
     * @return the context {@code [B, T, C/p]}, before the output projection
     */
    public NDArray attend(NodeContext ctx, NDArray q, NDArray k, NDArray v, NDArray attentionMask) {
        long b = q.getShape().get(0);
        long t = q.getShape().get(1);
        int h = localHeads();
        q = splitHeads(q, b, t, h);                                        // [B, h, T, D]
        k = splitHeads(k, b, t, h);
        v = splitHeads(v, b, t, h);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(Scalars.of(q, Math.sqrt(headDim))); // [B, h, T, T]
        NDArray bias = maskBias(ctx.manager(), attentionMask, causal, b, t);
        if (bias != null) {
            scores = scores.add(bias);                                     // fp16 scores + fp32 bias: fp32
        }
        NDArray probs;
        if (q.getDataType() == DataType.FLOAT16) {                         // softmax in fp32, probabilities in fp16
            probs = DifferentiableCast.to(JniUtils.softmax((PtNDArray) scores, -1, DataType.FLOAT32), DataType.FLOAT16);
        } else {
            probs = scores.softmax(-1);
        }
        probs = attentionDropout.apply(ctx, probs, DROPOUT_STREAM);
        return probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) h * headDim); // [B, T, C/p]
    }

    /**
     * Records {@code f}, the attention node and {@code g} (under sequence parallelism: the sequence
     * all-gather, the attention node and the sequence reduce-scatter); the caller adds
     * {@link #output()}'s bias.
     *
     * @param tape the step's tape
     * @param name node name, e.g. {@code transformer.h.0.attn}
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @param attentionMask {@code [B, T]} 0/1 over the whole sequence, or null for no padding
     * @return {@code [B, T, C]} without the output bias, replicated; {@code [B, T/p, C]} under sequence
     *     parallelism
     */
    public Var forwardWithoutOutputBias(Tape tape, String name, Var x, Var attentionMask) {
        return forwardWithoutOutputBias(tape, name, x, attentionMask, false);
    }

    /**
     * As {@link #forwardWithoutOutputBias(Tape, String, Var, Var)}, optionally checkpointing the attention
     * node: it then keeps only its inputs (not the {@code [B, A/p, T, T]} probabilities) and reruns in
     * backward, with the same dropout masks.
     *
     * <p>When the tape's GEMM strategy is not libtorch's (see {@link LinearFunction#strategyFor}),
     * the projections are separate nodes with hand-written backward on that strategy, and only the
     * attention proper (scores, softmax, dropout, weighted sum) is the autograd node that may be
     * checkpointed.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @param attentionMask {@code [B, T]} 0/1 over the whole sequence, or null
     * @param checkpoint whether to recompute the attention node in backward
     * @return {@code [B, T, C]} without the output bias, replicated; {@code [B, T/p, C]} under sequence
     *     parallelism
     */
    public Var forwardWithoutOutputBias(Tape tape, String name, Var x, Var attentionMask, boolean checkpoint) {
        Var in = SequenceParallel.enter(tape, group, name, x, sequenceParallel);
        Gemm gemm = LinearFunction.strategyFor(tape, in);
        if (gemm != null) {
            Var context = attendNode(tape, name, gemm, in, attentionMask, checkpoint);
            Var partial = tape.call1(name + ".output", output.partialFunction(gemm), context);
            return SequenceParallel.exit(tape, group, name, partial, sequenceParallel);
        }
        Var partial = attentionMask == null
                ? tape.apply1(name, checkpoint, (ctx, l) -> new NDList(applyLocal(ctx, l.get(0), null)), in)
                : tape.apply1(name, checkpoint, (ctx, l) -> new NDList(applyLocal(ctx, l.get(0), l.get(1))), in, attentionMask);
        return SequenceParallel.exit(tape, group, name, partial, sequenceParallel);
    }

    /**
     * Records the projections as nodes on {@code gemm} and the attention proper as one autograd node
     * (checkpointed if asked: its {@code [B, h, T, T]} probabilities are then recomputed in backward).
     */
    private Var attendNode(Tape tape, String name, Gemm gemm, Var in, Var attentionMask, boolean checkpoint) {
        List<Var> inputs = new ArrayList<>(4);
        if (fused != null) {
            inputs.add(tape.call1(name + ".qkv", fused.function(gemm), in));                             // [B, T, 3C/p]
        } else {
            inputs.add(tape.call1(name + ".query", query.function(gemm), in));                           // [B, T, C/p]
            inputs.add(tape.call1(name + ".key", key.function(gemm), in));
            inputs.add(tape.call1(name + ".value", value.function(gemm), in));
        }
        boolean masked = attentionMask != null;
        if (masked) {
            inputs.add(attentionMask);
        }
        int projections = inputs.size() - (masked ? 1 : 0);
        return tape.apply1(name, checkpoint, (ctx, l) -> {
            NDArray mask = masked ? l.get(projections) : null;
            if (projections == 1) {
                NDList qkv = l.get(0).split(3, 2);
                return new NDList(attend(ctx, qkv.get(0), qkv.get(1), qkv.get(2), mask));
            }
            return new NDList(attend(ctx, l.get(0), l.get(1), l.get(2), mask));
        }, inputs.toArray(new Var[0]));
    }

    /**
     * Records the whole block, output bias included.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     * @param attentionMask {@code [B, T]} 0/1 over the whole sequence, or null
     * @return {@code [B, T, C]}, replicated; {@code [B, T/p, C]} under sequence parallelism
     */
    public Var forward(Tape tape, String name, Var x, Var attentionMask) {
        Var y = forwardWithoutOutputBias(tape, name, x, attentionMask);
        if (output.bias() == null) {
            return y;
        }
        return SequenceParallel.addBias(tape, group, name + ".bias", y, output.bias(), sequenceParallel);
    }

    /**
     * The additive mask {@code M}: 0 where allowed, {@link #MASKED} elsewhere.
     *
     * @param manager owner of the result
     * @param attentionMask {@code [B, T]} 0/1, or null
     * @param causal whether keys after the query are masked
     * @param b B
     * @param t T
     * @return {@code [B, 1, 1, T]}, {@code [1, 1, T, T]} or {@code [B, 1, T, T]}; null when nothing is masked
     */
    public static NDArray maskBias(NDManager manager, NDArray attentionMask, boolean causal, long b, long t) {
        NDArray allowed = null;
        if (attentionMask != null) {
            if (!attentionMask.getShape().equals(new Shape(b, t))) {
                throw new IllegalArgumentException("attention mask " + attentionMask.getShape() + " does not match the input's [B, T] = ["
                        + b + ", " + t + "]");
            }
            allowed = attentionMask.neq(0).reshape(b, 1, 1, t);
        }
        if (causal) {
            NDArray pos = manager.arange(0, (int) t, 1, DataType.INT64);
            NDArray past = pos.reshape(t, 1).gte(pos.reshape(1, t)).reshape(1, 1, t, t);
            allowed = allowed == null ? past : allowed.logicalAnd(past);
        }
        if (allowed == null) {
            return null;
        }
        return allowed.logicalNot().toType(DataType.FLOAT32, false).mul(MASKED);
    }

    private NDArray splitHeads(NDArray x, long b, long t, int h) {
        return x.reshape(b, t, h, headDim).transpose(0, 2, 1, 3);
    }

    /**
     * Options of a {@link ParallelSelfAttention}.
     *
     * <p>Thread safety: not thread-safe.
     */
    public static final class Builder {
        private final ParallelContext parallel;
        private final int hidden;
        private final int heads;
        private boolean fusedQkv;
        private WeightLayout layout = WeightLayout.OUT_IN;
        private boolean causal;
        private double attentionDropout;
        private Initializer init = Initializer.normal(0.02f);
        private Initializer outputInit = Initializer.normal(0.02f);
        private boolean sequenceParallel;

        private Builder(ParallelContext parallel, int hidden, int heads) {
            this.parallel = Objects.requireNonNull(parallel, "parallel");
            this.hidden = hidden;
            this.heads = heads;
        }

        /**
         * @param fusedQkv one {@code [q|k|v]} projection (GPT-2's {@code c_attn}) instead of three
         * @return this builder
         */
        public Builder optFusedQkv(boolean fusedQkv) {
            this.fusedQkv = fusedQkv;
            return this;
        }

        /**
         * @param layout weight layout of every projection
         * @return this builder
         */
        public Builder optLayout(WeightLayout layout) {
            this.layout = Objects.requireNonNull(layout, "layout");
            return this;
        }

        /**
         * @param causal whether query {@code i} sees only keys {@code j ≤ i} (GPT-2)
         * @return this builder
         */
        public Builder optCausal(boolean causal) {
            this.causal = causal;
            return this;
        }

        /**
         * @param probability dropout on the attention probabilities
         * @return this builder
         */
        public Builder optAttentionDropout(double probability) {
            this.attentionDropout = probability;
            return this;
        }

        /**
         * @param init initialiser of the q/k/v weights, in Hugging Face's layout
         * @return this builder
         */
        public Builder optInitializer(Initializer init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param init initialiser of the output projection's weight
         * @return this builder
         */
        public Builder optOutputInitializer(Initializer init) {
            this.outputInit = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * @param sequenceParallel whether the block takes and returns this rank's sequence positions
         *     {@code [B, T/p, C]}, all-gathering before the projections and reduce-scattering after the
         *     output product (default false)
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
         * @throws IllegalArgumentException if the degree does not divide the heads
         */
        public ParallelSelfAttention build() {
            return new ParallelSelfAttention(this);
        }
    }
}
