package io.tessera.models.bert;

import io.tessera.core.tape.Var;

/**
 * What {@link BertForPreTraining#forward} records. Shapes: B batch, T sequence, C hidden, V' padded
 * vocabulary, p tensor-parallel degree.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param sequenceOutput {@code [B, T, C]}, the encoder's last hidden states (after the final LayerNorm for
 *     pre-LN), replicated
 * @param pooledOutput {@code [B, C]}, tanh of the pooler on the first token, replicated
 * @param mlmLogits {@code [B, T, V'/p]}, this rank's slice of the masked-LM logits (gather with
 *     {@link io.tessera.models.TransformerModel#gatherVocabLogits})
 * @param nspLogits {@code [B, 2]}, next-sentence logits, replicated
 * @param mlmLoss mean masked-LM cross-entropy over labels that are not -100; null without labels
 * @param nspLoss mean next-sentence cross-entropy; null without next-sentence labels
 * @param loss {@code mlmLoss + nspLoss} (whichever are present); null when neither is
 */
public record BertOutput(Var sequenceOutput, Var pooledOutput, Var mlmLogits, Var nspLogits, Var mlmLoss, Var nspLoss,
                         Var loss) {}
