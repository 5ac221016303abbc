package io.tessera.models.gpt2;

import io.tessera.core.tape.Var;

/**
 * What {@link Gpt2LmHeadModel#forward} records. Shapes: B batch, T sequence, C hidden, V' padded
 * vocabulary, p tensor-parallel degree.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param hiddenStates {@code [B, T, C]}, after the final LayerNorm, replicated
 * @param logits {@code [B, T, V'/p]}, this rank's slice of the next-token logits (gather with
 *     {@link io.tessera.models.TransformerModel#gatherVocabLogits})
 * @param loss mean next-token cross-entropy (labels shifted by one, -100 ignored); null without labels
 */
public record Gpt2Output(Var hiddenStates, Var logits, Var loss) {}
