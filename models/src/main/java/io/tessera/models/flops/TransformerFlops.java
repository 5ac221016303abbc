package io.tessera.models.flops;

import io.tessera.models.config.Architecture;

/**
 * Model FLOPs of a Transformer training step, counted exactly from the shape: the matrix products only
 * (one multiply-add = 2 FLOPs), as Megatron-LM and the MFU literature count them. Softmax, LayerNorm,
 * GELU, dropout, embeddings lookups and the optimizer are left out; they are a few percent at these
 * sizes and not what the hardware ceiling measures.
 *
 * <p>Forward FLOPs per token and layer (h hidden, f MLP inner size, s sequence length):
 *
 * <pre>
 *   QKV projections          2·3·h·h
 *   attention scores  QKᵀ    2·s·h        (every head, all s keys; a causal mask is not discounted)
 *   attention · V            2·s·h
 *   output projection        2·h·h
 *   MLP                      2·2·h·f      (h→f and f→h)
 *   ------------------------------------
 *   per layer                8·h² + 4·s·h + 4·h·f
 * </pre>
 *
 * <p>Head, per predicted token (V vocabulary): vocabulary projection {@code 2·h·V}, plus for BERT the
 * masked-LM transform {@code 2·h·h}. Backward costs twice the forward (one product for the input
 * gradient, one for the weight gradient), so a training step is three forwards:
 *
 * <pre>
 *   F_step = 3 · ( B·s·L·(8h² + 4sh + 4hf) + B·p·(2hV + [BERT] 2h²) )
 * </pre>
 *
 * <p>For GPT with {@code f = 4h} and {@code p = s} this is Megatron-LM's closed form (Narayanan et al.,
 * 2021, without activation recomputation), {@link #megatronGpt}:
 * {@code 72·B·s·L·h²·(1 + s/(6h) + V/(12·L·h))}. {@code TransformerFlopsTest} checks both the expansion
 * above against a hand computation and the identity with Megatron's form. The PyTorch reference script
 * ({@code benchmarks/reference/bert_step.py}) implements the same formula, and a test compares the two.
 *
 * <p>Tensor parallelism splits every product evenly, so one rank of a {@code tp}-way group does
 * {@code F_step / tp}; data parallelism multiplies the step's batch.
 *
 * <p>Thread safety: stateless.
 */
public final class TransformerFlops {

    private TransformerFlops() {}

    /**
     * Forward FLOPs of one layer for one token: {@code 8h² + 4sh + 4hf}.
     *
     * @param shape the model
     * @return FLOPs
     */
    public static double layerForwardPerToken(ModelShape shape) {
        double h = shape.hidden();
        double s = shape.seq();
        double f = shape.ffn();
        double qkv = 2 * 3 * h * h;
        double scores = 2 * s * h;
        double context = 2 * s * h;
        double output = 2 * h * h;
        double mlp = 2 * 2 * h * f;
        return qkv + scores + context + output + mlp;
    }

    /**
     * Forward FLOPs of the output head for one predicted token: {@code 2hV}, plus {@code 2h²} for the
     * masked-LM transform of the encoders (BERT, RoBERTa, DistilBERT).
     *
     * @param shape the model
     * @return FLOPs
     */
    public static double headForwardPerPredictedToken(ModelShape shape) {
        double h = shape.hidden();
        double projection = 2 * h * shape.vocab();
        double transform = shape.family() != Architecture.GPT2 ? 2 * h * h : 0;
        return projection + transform;
    }

    /**
     * Forward FLOPs of one step: {@code B·s·L·layer + B·p·head}.
     *
     * @param shape the model and batch
     * @return FLOPs
     */
    public static double forwardPerStep(ModelShape shape) {
        double tokens = (double) shape.batch() * shape.seq();
        double predicted = (double) shape.batch() * shape.predictedPerSequence();
        return tokens * shape.layers() * layerForwardPerToken(shape) + predicted * headForwardPerPredictedToken(shape);
    }

    /**
     * FLOPs of one training step, forward plus backward (twice the forward): {@code 3 · forwardPerStep}.
     *
     * @param shape the model and batch
     * @return FLOPs
     */
    public static double trainingStep(ModelShape shape) {
        return 3 * forwardPerStep(shape);
    }

    /**
     * Training FLOPs per token: {@link #trainingStep} divided by {@code B·s}.
     *
     * @param shape the model
     * @return FLOPs per token
     */
    public static double trainingPerToken(ModelShape shape) {
        return trainingStep(shape) / shape.tokensPerStep();
    }

    /**
     * Megatron-LM's closed form for a GPT training step without recomputation,
     * {@code 72·B·s·L·h²·(1 + s/(6h) + V/(12·L·h))}. Valid for {@code f = 4h} with logits at every position.
     *
     * @param batch B
     * @param seq s
     * @param layers L
     * @param hidden h
     * @param vocab V
     * @return FLOPs
     */
    public static double megatronGpt(int batch, int seq, int layers, int hidden, int vocab) {
        double b = batch;
        double s = seq;
        double l = layers;
        double h = hidden;
        double v = vocab;
        return 72 * b * s * l * h * h * (1 + s / (6 * h) + v / (12 * l * h));
    }

    /**
     * Achieved TFLOP/s of a measured step.
     *
     * @param shape the step's model and batch
     * @param stepSeconds measured seconds per step
     * @return {@code trainingStep(shape) / stepSeconds / 1e12}
     */
    public static double teraflopsPerSecond(ModelShape shape, double stepSeconds) {
        if (!(stepSeconds > 0)) {
            throw new IllegalArgumentException("stepSeconds = " + stepSeconds + " must be positive; time at least one step");
        }
        return trainingStep(shape) / stepSeconds / 1e12;
    }
}
