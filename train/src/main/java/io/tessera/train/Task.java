package io.tessera.train;

import io.tessera.models.config.Architecture;

/**
 * What is pretrained: BERT's masked-LM + next-sentence objective, the masked-LM objective alone
 * (RoBERTa, DistilBERT), or GPT-2's next-token objective.
 *
 * <p>Thread safety: immutable enum, safe to share.
 */
public enum Task {
    /** Masked language modelling plus next-sentence prediction, on sentence pairs with segment ids. */
    BERT,
    /** Causal language modelling. */
    GPT2,
    /**
     * Masked language modelling only, RoBERTa's recipe: full-sentence packing (contiguous sentences up to
     * the length, crossing documents, no next-sentence labels, token type 0) and dynamic masking.
     */
    MLM;

    /**
     * @param architecture a model family
     * @return the task its pre-training model is trained on
     */
    public static Task of(Architecture architecture) {
        switch (architecture) {
            case BERT:
            case ALBERT:
                return BERT;
            case GPT2:
                return GPT2;
            default:
                return MLM;
        }
    }
}
