package io.tessera.train.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Masked-language-model corruption of one sequence, drawn from a generator the caller seeds
 * (the datasets seed it from (seed, epoch, example index), so every epoch sees a fresh mask:
 * RoBERTa's dynamic masking).
 *
 * <pre>
 *   units  = the non-special positions ([CLS], [SEP], [PAD], [UNK], [MASK] are never chosen),
 *            one unit per piece, or per word (a piece and its ## continuations) with
 *            whole-word masking
 *   k      = floor(p · |units| + u),  u ~ U[0, 1)      (p = maskProbability, 0.15)
 *   chosen = k units drawn uniformly without replacement
 *   for each position of a chosen unit:  labels = original id, and with probability
 *     0.8 → [MASK],  0.1 → a uniformly random non-special id,  0.1 → unchanged
 *   labels = -100 at every other position
 * </pre>
 *
 * <p>The randomised rounding (fairseq's) makes every unit's chance of being chosen exactly p,
 * so the expected share of chosen tokens is p with or without whole-word masking, while the
 * count per sequence stays within one of p·|units| (Google's BERT rounds instead, Hugging
 * Face's collator draws each token independently; the three agree in expectation). A short
 * sequence may get no chosen token; a trainer divides the loss by the count of labelled
 * positions, guarding against zero. Random replacements are drawn among the non-special
 * ids, so a corrupted input never holds a stray {@code [CLS]} or {@code [PAD]}.
 *
 * <p>Thread safety: immutable; safe to share, each call uses the generator it is given.
 */
public final class DynamicMasking {

    private final Vocabulary vocabulary;
    private final double maskProbability;
    private final double maskTokenProbability;
    private final double randomTokenProbability;
    private final boolean wholeWordMasking;

    /**
     * Creates the masking rule.
     *
     * @param vocabulary the vocabulary (special ids, continuation pieces, random-token range)
     * @param config     the probabilities and the whole-word switch
     * @throws IllegalArgumentException if the vocabulary holds only special tokens
     */
    public DynamicMasking(Vocabulary vocabulary, BertDataConfig config) {
        if (vocabulary.size() <= Vocabulary.SPECIAL_TOKENS.size()) {
            throw new IllegalArgumentException("The vocabulary holds only the special tokens (" + vocabulary.size()
                    + "); masking needs ordinary tokens to predict and to draw random replacements from:"
                    + " build it with WordPieceTrainer");
        }
        this.vocabulary = vocabulary;
        this.maskProbability = config.maskProbability();
        this.maskTokenProbability = config.maskTokenProbability();
        this.randomTokenProbability = config.randomTokenProbability();
        this.wholeWordMasking = config.wholeWordMasking();
    }

    /**
     * Masks one sequence and pads it.
     *
     * @param tokens            the sequence with its special tokens, unpadded, at most
     *                          {@code seqLength} long
     * @param typeStart         the first position of segment B (token type 1); {@code tokens.length}
     *                          if there is no segment B
     * @param nextSentenceLabel the label to carry (0, 1 or -100)
     * @param seqLength         T
     * @param random            the generator; consumed
     * @return the masked, padded example
     */
    public Example apply(int[] tokens, int typeStart, int nextSentenceLabel, int seqLength, SplittableRandom random) {
        Example example = padded(tokens, typeStart, nextSentenceLabel, seqLength, vocabulary.padId());
        int n = tokens.length;
        int[] input = example.inputIds();
        int[] labels = example.labels();

        // Units as [unitStart[u], unitEnd[u]) ranges of positions.
        int[] unitStart = new int[n];
        int[] unitEnd = new int[n];
        int units = 0;
        for (int i = 0; i < n; i++) {
            int id = tokens[i];
            if (vocabulary.isSpecial(id)) {
                continue;
            }
            if (wholeWordMasking && vocabulary.isContinuation(id) && units > 0 && unitEnd[units - 1] == i) {
                unitEnd[units - 1] = i + 1;
            } else {
                unitStart[units] = i;
                unitEnd[units] = i + 1;
                units++;
            }
        }
        int k = Math.min(units, (int) Math.floor(maskProbability * units + random.nextDouble()));
        int[] order = new int[units];
        for (int u = 0; u < units; u++) {
            order[u] = u;
        }
        for (int j = 0; j < k; j++) {
            int r = j + random.nextInt(units - j);
            int unit = order[r];
            order[r] = order[j];
            order[j] = unit;
            for (int pos = unitStart[unit]; pos < unitEnd[unit]; pos++) {
                labels[pos] = tokens[pos];
                double u = random.nextDouble();
                if (u < maskTokenProbability) {
                    input[pos] = vocabulary.maskId();
                } else if (u < maskTokenProbability + randomTokenProbability) {
                    input[pos] = randomOrdinaryId(random);
                }
            }
        }
        return example;
    }

    /**
     * Pads a sequence to T without masking: {@code [PAD]} ids, token type 1 from
     * {@code typeStart} to the end of the sequence, attention 1 over it, labels -100.
     */
    static Example padded(int[] tokens, int typeStart, int nextSentenceLabel, int seqLength, int padId) {
        int n = tokens.length;
        if (n > seqLength) {
            throw new IllegalArgumentException("Sequence of " + n + " tokens does not fit seqLength " + seqLength
                    + "; truncate it before padding");
        }
        int[] input = new int[seqLength];
        int[] types = new int[seqLength];
        int[] attention = new int[seqLength];
        int[] labels = new int[seqLength];
        Arrays.fill(input, padId);
        System.arraycopy(tokens, 0, input, 0, n);
        Arrays.fill(types, typeStart, n, 1);
        Arrays.fill(attention, 0, n, 1);
        Arrays.fill(labels, Batch.IGNORE_INDEX);
        return new Example(input, types, attention, labels, nextSentenceLabel);
    }

    private int randomOrdinaryId(SplittableRandom random) {
        int id;
        do {
            id = random.nextInt(vocabulary.size());
        } while (vocabulary.isSpecial(id));
        return id;
    }
}
