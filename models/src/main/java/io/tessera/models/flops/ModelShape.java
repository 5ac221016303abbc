package io.tessera.models.flops;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The numbers that fix the matrix-product work of one Transformer training step.
 *
 * <p>Legend: h {@link #hidden}, L {@link #layers}, A {@link #heads}, f {@link #ffn} (MLP inner size),
 * s {@link #seq}, V {@link #vocab}, B {@link #batch} (sequences per step), p
 * {@link #predictedPerSequence} (positions per sequence whose logits are computed).
 *
 * <p>Thread safety: immutable.
 *
 * @param family which head sits on top: BERT adds the masked-LM transform (one h×h product per predicted token); GPT-2 does not
 * @param hidden h
 * @param layers L
 * @param heads A; does not change the FLOPs, kept so that a shape names the model fully
 * @param ffn f
 * @param seq s
 * @param vocab V, the number of logits per predicted token (the vocabulary the output layer computes)
 * @param batch B, sequences per step (over all data-parallel ranks when the step is the global one)
 * @param predictedPerSequence p, positions per sequence that go through the vocabulary projection; s when
 *     logits are computed at every position (Hugging Face's {@code BertForPreTraining}, GPT-2, the PyTorch
 *     reference)
 */
public record ModelShape(Architecture family, int hidden, int layers, int heads, int ffn, int seq, int vocab, int batch,
                         int predictedPerSequence) {

    /**
     * Checks every field and reports all problems at once.
     *
     * @throws IllegalArgumentException naming each field, its value and the rule
     */
    public ModelShape {
        if (family == null) {
            throw new IllegalArgumentException("family is null: pass Architecture.BERT or GPT2");
        }
        List<String> problems = new ArrayList<>();
        positive(problems, "hidden", hidden);
        positive(problems, "layers", layers);
        positive(problems, "heads", heads);
        positive(problems, "ffn", ffn);
        positive(problems, "seq", seq);
        positive(problems, "vocab", vocab);
        positive(problems, "batch", batch);
        if (predictedPerSequence < 0 || predictedPerSequence > seq) {
            problems.add("predictedPerSequence = " + predictedPerSequence + " must lie in [0, seq = " + seq
                    + "]; use seq when logits are computed at every position");
        }
        if (heads > 0 && hidden % heads != 0) {
            problems.add("hidden = " + hidden + " is not divisible by heads = " + heads + "; pick heads dividing hidden");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid model shape:\n  - " + String.join("\n  - ", problems));
        }
    }

    /**
     * The shape of a Tessera configuration trained at {@code batch × seq} tokens per step, with logits at
     * every position and the unpadded vocabulary (padding rows are not model FLOPs).
     *
     * @param config the model configuration
     * @param batch sequences per step
     * @param seq tokens per sequence
     * @return the shape
     */
    public static ModelShape of(TransformerConfig config, int batch, int seq) {
        return new ModelShape(config.architecture(), config.hiddenSize(), config.numLayers(), config.numHeads(),
                config.intermediateSize(), seq, config.vocabSize(), batch, seq);
    }

    /**
     * The same model at another batch size (per rank in weak scaling, global in strong scaling).
     *
     * @param newBatch sequences per step
     * @return a copy with {@code batch = newBatch}
     */
    public ModelShape withBatch(int newBatch) {
        return new ModelShape(family, hidden, layers, heads, ffn, seq, vocab, newBatch, predictedPerSequence);
    }

    /**
     * @param predicted positions per sequence that go through the vocabulary projection, in [0, seq]
     * @return a copy with {@code predictedPerSequence = predicted}
     */
    public ModelShape withPredictedPerSequence(int predicted) {
        return new ModelShape(family, hidden, layers, heads, ffn, seq, vocab, batch, predicted);
    }

    /** @return tokens per step, B·s */
    public long tokensPerStep() {
        return (long) batch * seq;
    }

    private static void positive(List<String> problems, String name, int value) {
        if (value < 1) {
            problems.add(name + " = " + value + " must be at least 1");
        }
    }
}
