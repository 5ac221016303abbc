package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Word ids of a batch of sentences, padded with {@code [PAD]} (0) to the longest, with what the
 * BiLSTM needs to honour each sentence's own length.
 *
 * <pre>
 *   ids       [B, T]      word ids, 0 after a sentence's end
 *   reverse   [B, T]      per row, the permutation that reverses the first length(b) positions and leaves the padding:
 *                         reverse[b][t] = length(b) − 1 − t for t &lt; length(b), else t   (its own inverse)
 *   padBias   [B, T, 1]   0 at words, −10⁴ at padding (added before the max-pool; LSTM states lie in (−1, 1))
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param ids the ids, row-major {@code [B, T]}
 * @param lengths each sentence's length, at least 1
 * @param maxLength T
 */
public record WordBatch(int[] ids, int[] lengths, int maxLength) {

    /** What padding adds before the max-pool. */
    public static final float PAD_BIAS = -1e4f;

    /**
     * @param sentences word ids of each sentence (an empty one becomes a single {@code [UNK]})
     * @return the padded batch
     */
    public static WordBatch of(List<int[]> sentences) {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one sentence");
        }
        int t = 1;
        for (int[] s : sentences) {
            t = Math.max(t, s.length);
        }
        int[] ids = new int[sentences.size() * t];
        int[] lengths = new int[sentences.size()];
        for (int b = 0; b < lengths.length; b++) {
            int[] s = sentences.get(b);
            if (s.length == 0) {
                ids[b * t] = 1;
                lengths[b] = 1;
            } else {
                System.arraycopy(s, 0, ids, b * t, s.length);
                lengths[b] = s.length;
            }
        }
        return new WordBatch(ids, lengths, t);
    }

    /** @return B */
    public int size() {
        return lengths.length;
    }

    /**
     * @param m owner of the result
     * @return the ids, int64 {@code [B, T]}
     */
    public NDArray idsArray(NDManager m) {
        return m.create(ids, new Shape(size(), maxLength)).toType(DataType.INT64, false);
    }

    /**
     * @param m owner of the result
     * @return the per-row reversal of the words, int64 {@code [B, T]}
     */
    public NDArray reverseArray(NDManager m) {
        int[] r = new int[ids.length];
        for (int b = 0; b < size(); b++) {
            for (int t = 0; t < maxLength; t++) {
                r[b * maxLength + t] = t < lengths[b] ? lengths[b] - 1 - t : t;
            }
        }
        return m.create(r, new Shape(size(), maxLength)).toType(DataType.INT64, false);
    }

    /**
     * @param m owner of the result
     * @return 0 at words and {@link #PAD_BIAS} at padding, float32 {@code [B, T, 1]}
     */
    public NDArray padBiasArray(NDManager m) {
        float[] bias = new float[ids.length];
        for (int b = 0; b < size(); b++) {
            for (int t = lengths[b]; t < maxLength; t++) {
                bias[b * maxLength + t] = PAD_BIAS;
            }
        }
        return m.create(bias, new Shape(size(), maxLength, 1));
    }
}
