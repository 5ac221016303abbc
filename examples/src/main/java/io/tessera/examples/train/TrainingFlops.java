package io.tessera.examples.train;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;

/**
 * Model FLOPs of one training step, counted from the configuration (multiply–adds count 2). Per
 * sequence of T tokens, with hidden h, FFN width f, L layers and vocabulary V:
 *
 * <pre>
 *   per layer   T·(2·3h² [QKV] + 2h² [attention output] + 2·2hf [MLP])  +  2·2·T²·h [scores, scores·V]
 *   head        2·T·h·V [vocabulary projection]  (+ 2·T·h² for BERT's MLM transform)
 *   training    3 × forward (backward = 2 × forward)
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class TrainingFlops {

    private TrainingFlops() {}

    /**
     * @param c the model
     * @param seqLength T
     * @return forward FLOPs of one sequence
     */
    public static double forwardPerSequence(TransformerConfig c, int seqLength) {
        double h = c.hiddenSize();
        double f = c.intermediateSize();
        double t = seqLength;
        double layer = t * (6 * h * h + 2 * h * h + 4 * h * f) + 4 * t * t * h;
        double head = 2 * t * h * c.vocabSize() + (c.architecture() == Architecture.BERT ? 2 * t * h * h : 0);
        return c.numLayers() * layer + head;
    }

    /**
     * @param c the model
     * @param seqLength T
     * @param sequences sequences per step (the global batch)
     * @return training FLOPs of one step
     */
    public static double perStep(TransformerConfig c, int seqLength, int sequences) {
        return 3 * forwardPerSequence(c, seqLength) * sequences;
    }
}
