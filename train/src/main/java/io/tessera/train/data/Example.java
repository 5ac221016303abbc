package io.tessera.train.data;

import java.util.Arrays;

/**
 * One training sequence, padded to the sequence length T.
 *
 * <ul>
 *   <li>{@code inputIds}: token ids, {@code [PAD]} after the sequence;</li>
 *   <li>{@code tokenTypeIds}: 0 for segment A (and padding), 1 for segment B;</li>
 *   <li>{@code attentionMask}: 1 over real tokens, 0 over padding;</li>
 *   <li>{@code labels}: the target id where the loss applies, {@link Batch#IGNORE_INDEX}
 *       (-100, Hugging Face's convention) elsewhere. BERT: the original id at masked
 *       positions. GPT-2: a copy of {@code inputIds}, the model shifts (position t predicts
 *       {@code labels[t + 1]});</li>
 *   <li>{@code sequenceLabel}: the label of the whole sequence. Pretraining: BERT's next-sentence
 *       label, 0 if segment B follows A in the text, 1 if B is random
 *       (Hugging Face's {@code BertForPreTraining}); {@link Batch#IGNORE_INDEX} when the
 *       example has no next-sentence task.</li>
 * </ul>
 *
 * <p>The arrays are handed over, not copied: treat them as read-only.
 *
 * <p>Thread safety: immutable by contract (read-only arrays), safe to share between threads.
 *
 * @param inputIds          [T]
 * @param tokenTypeIds      [T]
 * @param attentionMask     [T]
 * @param labels            [T]
 * @param sequenceLabel a per-sequence target (next-sentence 0/1, a class id), or -100
 */
public record Example(int[] inputIds, int[] tokenTypeIds, int[] attentionMask, int[] labels, int sequenceLabel) {

    /**
     * Validates the shapes.
     *
     * @throws IllegalArgumentException if the arrays differ in length or are empty
     */
    public Example {
        int t = inputIds.length;
        if (t == 0 || tokenTypeIds.length != t || attentionMask.length != t || labels.length != t) {
            throw new IllegalArgumentException("Example arrays must share one non-zero length T; got inputIds "
                    + t + ", tokenTypeIds " + tokenTypeIds.length + ", attentionMask " + attentionMask.length
                    + ", labels " + labels.length + ": pad every array to the sequence length");
        }
    }

    /** @return the sequence length T */
    public int seqLength() {
        return inputIds.length;
    }

    /** @return the number of real (non-padding) tokens */
    public int length() {
        int n = 0;
        for (int m : attentionMask) {
            n += m;
        }
        return n;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Example e && sequenceLabel == e.sequenceLabel
                && Arrays.equals(inputIds, e.inputIds) && Arrays.equals(tokenTypeIds, e.tokenTypeIds)
                && Arrays.equals(attentionMask, e.attentionMask) && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        int h = Arrays.hashCode(inputIds);
        h = 31 * h + Arrays.hashCode(tokenTypeIds);
        h = 31 * h + Arrays.hashCode(attentionMask);
        h = 31 * h + Arrays.hashCode(labels);
        return 31 * h + sequenceLabel;
    }

    @Override
    public String toString() {
        return "Example[inputIds=" + Arrays.toString(inputIds) + ", tokenTypeIds=" + Arrays.toString(tokenTypeIds)
                + ", attentionMask=" + Arrays.toString(attentionMask) + ", labels=" + Arrays.toString(labels)
                + ", sequenceLabel=" + sequenceLabel + "]";
    }
}
