package io.tessera.models.heads;

import io.tessera.core.tape.Var;

/**
 * What a classifier's forward pass records. Shapes: B batch, T sequence, K labels.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param logits {@code [B, K]} (sequence) or {@code [B, T, K]} (token) logits, replicated over the
 *     tensor-parallel group; for regression {@code [B, 1]}, the predictions
 * @param loss the mean loss over labelled sequences or tokens; null without labels
 */
public record ClassifierOutput(Var logits, Var loss) {}
