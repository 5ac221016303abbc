package io.tessera.optim.plan.estimate;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * The elements of each {@link OpClass} one device processes, counted from the architecture as Tessera
 * executes it (BERT post-LN or GPT-2, {@code planned}/OpenBLAS products: every linear layer is a
 * {@code LinearFunction} node with its bias inside), and their price under {@link OpCosts}.
 *
 * <p>Legend: T = b·s tokens of a micro-batch, h hidden, f MLP width, A heads, V' the padded vocabulary,
 * t tensor-, p pipeline-, d data-parallel degree, L layers, Ψ parameters, n = b·(A/t)·s² attention
 * scores per layer on one rank, [x] = 1 when x holds, else 0.
 *
 * <pre>
 *   per layer and micro-batch (× L/p)
 *     score_products n                                Q·Kᵀ and P·V (their FLOPs then leave compute)
 *     scale       n                                   scores / √D
 *     mask        n · [mask]                          scores + M
 *     softmax     n
 *     dropout     n · [attention dropout] + 2·T·h · [hidden dropout]     probabilities; both residual branches
 *     heads       4·T·h/t                             q, k, v split into heads, the context merged back
 *     bias        (3h + f)·T/t + 2·T·h                q, k, v, fc (split); attention output, proj (replicated,
 *                                                     in BiasDropoutAdd: also counted under add, a new tensor)
 *     gelu        T·f/t
 *     layer_norm  2·T·h
 *     add         8·T·h                               2 residual adds and 2 bias adds forward; backward
 *                                                     accumulates the layer input's cotangent over q, k, v and
 *                                                     the residual (3 adds) and the first LayerNorm's over fc
 *                                                     and the residual (1)
 *   per micro-batch, embeddings (the first stage)
 *     add         2·T·h                               word + position + type
 *     embedding   V'·h/t                              the dense table gradient of the lookup
 *     accumulate  V'·h/t                              that gradient added into the flat buffer
 *     layer_norm  T·h
 *     dropout     T·h · [hidden dropout]
 *   per micro-batch, head (the last stage)
 *     bias        T·h + T·V'/t      (BERT)            transform dense; decoder bias over the logits
 *     gelu        T·h               (BERT)
 *     layer_norm  T·h                                 BERT's transform LayerNorm, GPT-2's final one
 *     cross_entropy T·V'/t                            this rank's logits
 *   per step
 *     adamw       Ψ/(t·p), ÷ d with ZeRO ≥ 1          the rank's parameter shard
 *
 *   nonGemm(micro-batches) = m · Σ_c perMicroBatch_c · cost_c        cost_c from OpCosts, s per element
 *   optimizer              = Σ_c perStep_c · cost_c
 * </pre>
 *
 * <p>Not counted: the pooler and next-sentence head (b·h), LayerNorm and bias gradients added into the
 * flat buffer (O(h) per layer), the attention mask's construction (b·s), and recomputation's second
 * forward of the non-GEMM work (with {@code --recompute} the term is the same as without). Under pipeline
 * parallelism the embeddings and the head are both charged to the critical path, though they run on
 * different stages.
 *
 * <p>Thread safety: stateless.
 */
public final class NonGemmWork {

    /**
     * FLOPs of the attention's two batched products in a step, all devices: {@code 12·s·h} per token and
     * layer (forward {@code 2·s·h} each for Q·Kᵀ and P·V, backward twice that), as {@code TransformerFlops}
     * counts them; × 4/3 with recomputation. {@link StepTimeModel} takes them out of the compute term when
     * the cluster prices {@link OpClass#SCORE_PRODUCTS}.
     *
     * @param l the layout
     * @return {@code 12·s·h·L·B·s}, × 4/3 with recomputation
     */
    public static double scoreProductFlops(Layout l) {
        double f = 12.0 * l.seq() * l.hidden() * l.layers() * (double) l.globalBatch() * l.seq();
        return l.recompute() ? f * 4 / 3 : f;
    }

    private NonGemmWork() {}

    /**
     * @param l the layout (b, s, h, L, t, p)
     * @param shape heads, f, V', dropouts, mask, head form
     * @return elements of each class in one micro-batch on one device
     */
    public static Map<OpClass, Double> perMicroBatch(Layout l, LayerShape shape) {
        double t = l.tp();
        double tokens = (double) l.microBatch() * l.seq();
        double th = tokens * l.hidden();
        double scores = l.microBatch() * (shape.heads() / t) * (double) l.seq() * l.seq();
        double layers = (double) l.layers() / l.pp();
        double table = (double) shape.paddedVocab() * l.hidden() / t;
        double logits = tokens * shape.paddedVocab() / t;
        EnumMap<OpClass, Double> e = new EnumMap<>(OpClass.class);
        add(e, OpClass.SCORE_PRODUCTS, layers * scores);
        add(e, OpClass.SCALE, layers * scores);
        add(e, OpClass.MASK, shape.attentionMask() ? layers * scores : 0);
        add(e, OpClass.SOFTMAX, layers * scores);
        add(e, OpClass.DROPOUT, layers * ((shape.attentionDropout() ? scores : 0) + (shape.hiddenDropout() ? 2 * th : 0)));
        add(e, OpClass.HEADS, layers * 4 * th / t);
        add(e, OpClass.BIAS, layers * ((3.0 * l.hidden() + shape.ffn()) * tokens / t + 2 * th));
        add(e, OpClass.GELU, layers * tokens * shape.ffn() / t);
        add(e, OpClass.LAYER_NORM, layers * 2 * th);
        add(e, OpClass.ADD, layers * 8 * th);
        // embeddings
        add(e, OpClass.ADD, 2 * th);
        add(e, OpClass.EMBEDDING, table);
        add(e, OpClass.ACCUMULATE, table);
        add(e, OpClass.LAYER_NORM, th);
        add(e, OpClass.DROPOUT, shape.hiddenDropout() ? th : 0);
        // head
        if (shape.mlmTransform()) {
            add(e, OpClass.BIAS, th + logits);
            add(e, OpClass.GELU, th);
        }
        add(e, OpClass.LAYER_NORM, th);
        add(e, OpClass.CROSS_ENTROPY, logits);
        return Collections.unmodifiableMap(e);
    }

    /**
     * @param l the layout (Ψ, t, p, d, ZeRO stage)
     * @return elements of each class once per step on one device: the optimizer over the rank's shard
     */
    public static Map<OpClass, Double> perStep(Layout l) {
        double shard = (double) l.parameters() / ((double) l.tp() * l.pp());
        return Map.of(OpClass.ADAMW, l.zeroStage() >= 1 ? shard / l.dp() : shard);
    }

    /**
     * @param elements elements by class
     * @param costs seconds per element by class
     * @return {@code Σ_c elements_c · cost_c}
     */
    public static double seconds(Map<OpClass, Double> elements, OpCosts costs) {
        double s = 0;
        for (Map.Entry<OpClass, Double> e : elements.entrySet()) {
            s += e.getValue() * costs.seconds(e.getKey());
        }
        return s;
    }

    private static void add(EnumMap<OpClass, Double> e, OpClass c, double n) {
        e.merge(c, n, Double::sum);
    }
}
