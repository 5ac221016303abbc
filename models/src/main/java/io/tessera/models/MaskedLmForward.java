package io.tessera.models;

import io.tessera.core.tape.Tape;

/**
 * A model with a masked-LM head whose last hidden states and vocabulary logits a caller can read: what a
 * distillation teacher provides and a DistilBERT student learns from. BERT ({@code BertForPreTraining}),
 * RoBERTa and DistilBERT implement it.
 *
 * <p>Thread safety: as the implementing model (one rank's).
 */
public interface MaskedLmForward {

    /**
     * Records the encoder and the masked-LM head (and, when the batch has labels, the masked-LM loss).
     * Any other head of the model (next-sentence) is recorded only when the batch has its labels.
     *
     * @param tape the tape (a gradient-free tape for a forward-only teacher)
     * @param batch the batch
     * @return {@code [B, T, C]} last hidden states, this rank's {@code [B, T, V'/p]} logits, the loss or null
     */
    MaskedLmOutput maskedLm(Tape tape, TokenBatch batch);
}
