package io.tessera.train.data;

import java.util.Arrays;
import java.util.List;

/**
 * A batch of B examples of length T, each field a row-major {@code [B, T]} array flattened
 * (element {@code (b, t)} at {@code b * T + t}), and {@code sequenceLabels} of shape
 * {@code [B]}. No DJL types: the trainer wraps the arrays into tensors.
 *
 * <p>Conventions (see {@link Example}): labels and next-sentence labels are
 * {@link #IGNORE_INDEX} where no loss applies; GPT-2 batches carry {@code labels == inputIds}
 * (the model shifts), token types 0, attention mask 1 and next-sentence labels -100.
 *
 * <p>The arrays are handed over, not copied: treat them as read-only. {@code equals} compares
 * contents.
 *
 * <p>Thread safety: immutable by contract (read-only arrays), safe to share between threads.
 *
 * @param batchSize          B
 * @param seqLength          T
 * @param inputIds           [B, T]
 * @param tokenTypeIds       [B, T]
 * @param attentionMask      [B, T]
 * @param labels             [B, T]
 * @param sequenceLabels [B]
 */
public record Batch(int batchSize, int seqLength, int[] inputIds, int[] tokenTypeIds, int[] attentionMask,
                    int[] labels, int[] sequenceLabels) {

    /** The label of positions without loss (PyTorch's {@code CrossEntropyLoss} default {@code ignore_index}). */
    public static final int IGNORE_INDEX = -100;

    /**
     * Validates the shapes.
     *
     * @throws IllegalArgumentException if a size is not positive or an array does not hold B×T (B) values
     */
    public Batch {
        if (batchSize < 1 || seqLength < 1) {
            throw new IllegalArgumentException("Batch needs batchSize >= 1 and seqLength >= 1; got batchSize "
                    + batchSize + ", seqLength " + seqLength);
        }
        long n = (long) batchSize * seqLength;
        if (inputIds.length != n || tokenTypeIds.length != n || attentionMask.length != n || labels.length != n
                || sequenceLabels.length != batchSize) {
            throw new IllegalArgumentException("Batch of B=" + batchSize + ", T=" + seqLength + " needs arrays of "
                    + n + " values and sequenceLabels of " + batchSize + "; got inputIds " + inputIds.length
                    + ", tokenTypeIds " + tokenTypeIds.length + ", attentionMask " + attentionMask.length
                    + ", labels " + labels.length + ", sequenceLabels " + sequenceLabels.length);
        }
    }

    /**
     * Stacks examples of one length into a batch.
     *
     * @param examples at least one example, all of the same length
     * @return the batch, rows in list order
     * @throws IllegalArgumentException if the list is empty or the lengths differ
     */
    public static Batch of(List<Example> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("Cannot batch an empty list of examples; pass at least one");
        }
        int b = examples.size();
        int t = examples.get(0).seqLength();
        int[] ids = new int[b * t];
        int[] types = new int[b * t];
        int[] mask = new int[b * t];
        int[] labels = new int[b * t];
        int[] nsp = new int[b];
        for (int i = 0; i < b; i++) {
            Example e = examples.get(i);
            if (e.seqLength() != t) {
                throw new IllegalArgumentException("Example " + i + " has length " + e.seqLength()
                        + " but example 0 has " + t + "; pad all examples of a batch to one length");
            }
            System.arraycopy(e.inputIds(), 0, ids, i * t, t);
            System.arraycopy(e.tokenTypeIds(), 0, types, i * t, t);
            System.arraycopy(e.attentionMask(), 0, mask, i * t, t);
            System.arraycopy(e.labels(), 0, labels, i * t, t);
            nsp[i] = e.sequenceLabel();
        }
        return new Batch(b, t, ids, types, mask, labels, nsp);
    }

    /**
     * The batch cut to its longest sequence: columns past the last real token of every row (attention
     * mask 0 everywhere) are dropped. Fine-tuning batches sentences of very different lengths padded to
     * one maximum; trimming keeps a batch of short sentences short. The model's outputs at real tokens
     * do not change, since padding is masked out of attention.
     *
     * @return this batch if no column can go, else a new batch of T' = the longest row
     */
    public Batch trimmed() {
        int longest = 1;
        for (int i = 0; i < batchSize; i++) {
            for (int t = seqLength - 1; t >= longest; t--) {
                if (attentionMask[i * seqLength + t] != 0) {
                    longest = t + 1;
                    break;
                }
            }
        }
        if (longest == seqLength) {
            return this;
        }
        int n = longest;
        int[][] cut = new int[4][batchSize * n];
        int[][] from = {inputIds, tokenTypeIds, attentionMask, labels};
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < batchSize; i++) {
                System.arraycopy(from[k], i * seqLength, cut[k], i * n, n);
            }
        }
        return new Batch(batchSize, n, cut[0], cut[1], cut[2], cut[3], sequenceLabels.clone());
    }

    /**
     * Concatenates batches along B: the micro-batches of all data-parallel ranks, in rank
     * order, give the global batch.
     *
     * @param batches at least one batch, all of the same T
     * @return one batch of the summed B
     * @throws IllegalArgumentException if the list is empty or the lengths differ
     */
    public static Batch concat(List<Batch> batches) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("Cannot concatenate an empty list of batches; pass at least one");
        }
        int t = batches.get(0).seqLength;
        int b = 0;
        for (Batch batch : batches) {
            if (batch.seqLength != t) {
                throw new IllegalArgumentException("Batches have seqLength " + batch.seqLength + " and " + t
                        + "; only batches of one sequence length concatenate");
            }
            b += batch.batchSize;
        }
        int[] ids = new int[b * t];
        int[] types = new int[b * t];
        int[] mask = new int[b * t];
        int[] labels = new int[b * t];
        int[] nsp = new int[b];
        int row = 0;
        for (Batch batch : batches) {
            int n = batch.batchSize * t;
            System.arraycopy(batch.inputIds, 0, ids, row * t, n);
            System.arraycopy(batch.tokenTypeIds, 0, types, row * t, n);
            System.arraycopy(batch.attentionMask, 0, mask, row * t, n);
            System.arraycopy(batch.labels, 0, labels, row * t, n);
            System.arraycopy(batch.sequenceLabels, 0, nsp, row, batch.batchSize);
            row += batch.batchSize;
        }
        return new Batch(b, t, ids, types, mask, labels, nsp);
    }

    /**
     * Returns one row as an example (copied).
     *
     * @param row a row in {@code [0, B)}
     * @return the example
     */
    public Example example(int row) {
        int from = row * seqLength;
        int to = from + seqLength;
        return new Example(Arrays.copyOfRange(inputIds, from, to), Arrays.copyOfRange(tokenTypeIds, from, to),
                Arrays.copyOfRange(attentionMask, from, to), Arrays.copyOfRange(labels, from, to),
                sequenceLabels[row]);
    }

    /**
     * Widens ids to {@code long}, the index type PyTorch's embedding and cross-entropy expect.
     *
     * @param values any field of this batch
     * @return a new array of the same values
     */
    public static long[] toLongs(int[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Batch o && batchSize == o.batchSize && seqLength == o.seqLength
                && Arrays.equals(inputIds, o.inputIds) && Arrays.equals(tokenTypeIds, o.tokenTypeIds)
                && Arrays.equals(attentionMask, o.attentionMask) && Arrays.equals(labels, o.labels)
                && Arrays.equals(sequenceLabels, o.sequenceLabels);
    }

    @Override
    public int hashCode() {
        int h = 31 * batchSize + seqLength;
        h = 31 * h + Arrays.hashCode(inputIds);
        h = 31 * h + Arrays.hashCode(tokenTypeIds);
        h = 31 * h + Arrays.hashCode(attentionMask);
        h = 31 * h + Arrays.hashCode(labels);
        return 31 * h + Arrays.hashCode(sequenceLabels);
    }

    @Override
    public String toString() {
        return "Batch[B=" + batchSize + ", T=" + seqLength + "]";
    }
}
