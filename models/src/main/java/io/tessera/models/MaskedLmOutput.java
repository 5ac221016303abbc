package io.tessera.models;

import io.tessera.core.tape.Var;

/**
 * What a {@link MaskedLanguageModel}'s forward pass records. Shapes: B batch, T sequence, C hidden,
 * V' padded vocabulary, p tensor-parallel degree.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param sequenceOutput {@code [B, T, C]}, the encoder's last hidden states, replicated
 * @param logits {@code [B, T, V'/p]}, this rank's slice of the masked-LM logits (gather with
 *     {@link TransformerModel#gatherVocabLogits})
 * @param loss mean masked-LM cross-entropy over labels that are not -100; null without labels
 */
public record MaskedLmOutput(Var sequenceOutput, Var logits, Var loss) {}
