package io.tessera.models.albert;

import io.tessera.core.tape.Var;

/**
 * What {@link AlbertForPreTraining#forward} records. Shapes: B batch, T sequence, H hidden, V' padded
 * vocabulary, p tensor-parallel degree.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param sequenceOutput {@code [B, T, H]}, the last layer's hidden states, replicated
 * @param pooledOutput {@code [B, H]}, tanh of the pooler on the first token, replicated
 * @param mlmLogits {@code [B, T, V'/p]}, this rank's slice of the masked-LM logits
 * @param sopLogits {@code [B, 2]}, sentence-order logits (0 = original order, 1 = swapped), replicated
 * @param mlmLoss mean masked-LM cross-entropy over labels that are not -100; null without labels
 * @param sopLoss mean sentence-order cross-entropy; null without sentence-order labels
 * @param loss {@code mlmLoss + sopLoss} (whichever are present); null when neither is
 */
public record AlbertOutput(Var sequenceOutput, Var pooledOutput, Var mlmLogits, Var sopLogits, Var mlmLoss, Var sopLoss,
                           Var loss) {}
