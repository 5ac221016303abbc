package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.train.data.Batch;
import io.tessera.models.TokenBatch;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;

/**
 * Host-side batches as tensors, and the small sums a step or an evaluation takes over the
 * data-parallel group.
 *
 * <p>Thread safety: stateless.
 */
public final class BatchTensors {

    private BatchTensors() {}

    /**
     * @param m owner of the tensors
     * @param b the batch
     * @param task which fields the task reads (token types and next-sentence labels only for BERT)
     * @return the batch as tensors on {@code m}'s device
     */
    public static TokenBatch of(NDManager m, Batch b, Task task) {
        boolean bert = task == Task.BERT;
        return TokenBatch.of(m, b.batchSize(), b.seqLength(), b.inputIds(), bert ? b.tokenTypeIds() : null, b.attentionMask(),
                b.labels(), bert ? b.sequenceLabels() : null);
    }

    /**
     * Sums a few numbers over a group (in fp32, as the collective carries them; counts stay exact below 2^24).
     *
     * @param group the group
     * @param values this rank's values
     * @param manager owner of the temporary tensor
     * @return the sums, the same on every rank
     */
    public static double[] allReduceSum(Communicator group, double[] values, NDManager manager) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        try (NDArray a = manager.create(f)) {
            group.allReduce(a, ReduceOp.SUM);
            float[] r = a.toFloatArray();
            double[] out = new double[r.length];
            for (int i = 0; i < r.length; i++) {
                out[i] = r[i];
            }
            return out;
        }
    }
}
