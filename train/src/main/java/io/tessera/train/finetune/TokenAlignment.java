package io.tessera.train.finetune;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Word tags to sub-token labels and back, as Hugging Face's token-classification recipe does: a word
 * split into several sub-tokens carries its label on the first one only; the others, and the special
 * tokens, get {@value #IGNORE} (no loss). A prediction is read back per word from its first sub-token.
 *
 * <pre>
 *   words      EU      rejects          German   call
 *   tags       B-ORG   O                B-MISC   O
 *   tokens     [CLS] eu  reject ##s     german   call  [SEP]
 *   labels     -100  B-ORG O   -100     B-MISC   O     -100
 *   wordStarts       1     2            4        5
 * </pre>
 *
 * <p>A sentence longer than {@code maxLength} tokens is cut before its suffix; words whose first
 * sub-token falls past the cut have {@code wordStarts = -1} and read back as {@code O}.
 *
 * <p>Thread safety: immutable.
 *
 * @param inputIds the token ids, special tokens included
 * @param labels per token: the word's label id on first sub-tokens, else {@value #IGNORE}
 * @param wordStarts per word: the position of its first sub-token, or -1 where truncated away
 */
public record TokenAlignment(int[] inputIds, int[] labels, int[] wordStarts) {

    /** The label of positions that carry no loss (PyTorch's {@code ignore_index}). */
    public static final int IGNORE = -100;

    /**
     * Aligns one sentence.
     *
     * @param words the words
     * @param tagIds one label id per word, or null (prediction input: every label is {@value #IGNORE})
     * @param tokenizer the model's tokenizer
     * @param maxLength the most tokens, special tokens included
     * @return the alignment
     */
    public static TokenAlignment of(List<String> words, int[] tagIds, TaskTokenizer tokenizer, int maxLength) {
        Objects.requireNonNull(words, "words");
        if (tagIds != null && tagIds.length != words.size()) {
            throw new IllegalArgumentException(words.size() + " words but " + tagIds.length + " tags");
        }
        int[] prefix = tokenizer.prefix();
        int[] suffix = tokenizer.suffix();
        int room = maxLength - prefix.length - suffix.length;
        if (room < 1) {
            throw new IllegalArgumentException("--max-length " + maxLength + " leaves no room for a word beside the " + (prefix.length
                    + suffix.length) + " special tokens; use at least " + (prefix.length + suffix.length + 1));
        }
        List<int[]> pieces = tokenizer.encodeWords(words);
        int[] ids = new int[maxLength];
        int[] labels = new int[maxLength];
        Arrays.fill(labels, IGNORE);
        int[] starts = new int[words.size()];
        Arrays.fill(starts, -1);
        int n = 0;
        for (int id : prefix) {
            ids[n++] = id;
        }
        int limit = prefix.length + room;
        for (int w = 0; w < words.size() && n < limit; w++) {
            int[] p = pieces.get(w);
            starts[w] = n;
            for (int k = 0; k < p.length && n < limit; k++) {
                labels[n] = k == 0 && tagIds != null ? tagIds[w] : IGNORE;
                ids[n++] = p[k];
            }
        }
        for (int id : suffix) {
            ids[n++] = id;
        }
        return new TokenAlignment(Arrays.copyOf(ids, n), Arrays.copyOf(labels, n), starts);
    }

    /**
     * Reads per-word predictions from per-token ones.
     *
     * @param tokenPredictions the predicted label id at each token position
     * @param outside the id read back for truncated words (usually {@code O}'s)
     * @return one label id per word
     */
    public int[] wordPredictions(int[] tokenPredictions, int outside) {
        int[] out = new int[wordStarts.length];
        for (int w = 0; w < out.length; w++) {
            out[w] = wordStarts[w] < 0 ? outside : tokenPredictions[wordStarts[w]];
        }
        return out;
    }
}
