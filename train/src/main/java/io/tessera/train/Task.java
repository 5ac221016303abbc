package io.tessera.train;

/** What is pretrained: BERT's masked-LM + next-sentence objective, or GPT-2's next-token objective. */
public enum Task {
    /** Masked language modelling plus next-sentence prediction. */
    BERT,
    /** Causal language modelling. */
    GPT2
}
