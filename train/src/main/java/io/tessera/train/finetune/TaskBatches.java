package io.tessera.train.finetune;

import ai.djl.ndarray.NDManager;
import io.tessera.models.TokenBatch;
import io.tessera.train.data.Batch;

/**
 * Host-side fine-tuning batches as the task heads read them: no token types (all zeros, which every
 * family accepts), the attention mask, and the labels in the field of the task's head.
 *
 * <pre>
 *   sequence classification   sequenceLabels [B] = the row's class id (-100: none)     labels null
 *   token classification      labels [B, T] = first-sub-token tag ids, -100 elsewhere  sequenceLabels null
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class TaskBatches {

    private TaskBatches() {}

    /**
     * @param m owner of the tensors
     * @param b the batch (usually {@link Batch#trimmed()})
     * @param task the task
     * @param withLabels false for prediction: no label fields
     * @return the batch as int64 tensors on {@code m}'s device
     */
    public static TokenBatch of(NDManager m, Batch b, FineTuneTask task, boolean withLabels) {
        boolean tokens = task == FineTuneTask.TOKEN_CLASSIFICATION;
        TokenBatch tb = TokenBatch.of(m, b.batchSize(), b.seqLength(), b.inputIds(), null, b.attentionMask(),
                withLabels && tokens ? b.labels() : null, null);
        return withLabels && !tokens ? tb.withSequenceLabels(m.create(Batch.toLongs(b.sequenceLabels()))) : tb;
    }
}
