package io.tessera.train.distill.bilstm;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The rule-based data augmentation of Tang et al. (2019, §3.3, Algorithm 1), which turns the training
 * sentences into a larger transfer set for the teacher to label:
 *
 * <pre>
 *   for each word wᵢ:  x ~ U[0, 1)
 *                      x &lt; p_mask                 → wᵢ := [MASK]
 *                      p_mask ≤ x &lt; p_mask + p_pos → wᵢ := a word of wᵢ's part of speech ({@link PosLexicon#replacement})
 *                      otherwise                    → wᵢ kept
 *   then, with probability p_ng: n ~ U{1..5}; if n &lt; |sentence|, keep only the n-gram starting at s ~ U{0..|sentence|−n}
 * </pre>
 *
 * The transfer set is every original sentence (kept first, in order, with its gold label) followed by
 * {@code iterations} rounds of one augmented copy of each sentence (round-major, so that a cap on the
 * size keeps copies of every part of the training set); a copy equal to any sentence already in the
 * set is dropped. With {@code maxSize} the set stops growing at that many sentences (the originals are
 * always all kept).
 *
 * <p>Thread safety: immutable; each call uses its own seeded RNG.
 *
 * @param maskProbability p_mask (paper 0.1)
 * @param posProbability p_pos (paper 0.1)
 * @param ngramProbability p_ng (paper 0.25)
 * @param iterations n_iter, augmented copies tried per sentence (paper 20)
 */
public record Augmentation(double maskProbability, double posProbability, double ngramProbability, int iterations) {

    /** The longest n-gram the n-gram rule keeps. */
    public static final int MAX_NGRAM = 5;

    public Augmentation {
        check(maskProbability, "maskProbability");
        check(posProbability, "posProbability");
        check(ngramProbability, "ngramProbability");
        if (maskProbability + posProbability > 1) {
            throw new IllegalArgumentException("maskProbability + posProbability = " + (maskProbability + posProbability)
                    + ": the two word rules are exclusive, so their probabilities must sum to at most 1");
        }
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations = " + iterations + ": must be 0 (no augmentation) or more");
        }
    }

    /** @return the paper's probabilities with 10 iterations */
    public static Augmentation defaults() {
        return new Augmentation(0.1, 0.1, 0.25, 10);
    }

    private static void check(double p, String name) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(name + " = " + p + ": a probability must be in [0, 1]");
        }
    }

    /**
     * One augmented copy of a sentence.
     *
     * @param words the sentence
     * @param lexicon the part-of-speech lexicon
     * @param rng the RNG
     * @return the copy (never empty for a non-empty sentence)
     */
    public List<String> augment(List<String> words, PosLexicon lexicon, Random rng) {
        List<String> out = new ArrayList<>(words.size());
        for (String w : words) {
            double x = rng.nextDouble();
            if (x < maskProbability) {
                out.add(WordVocabulary.MASK);
            } else if (x < maskProbability + posProbability) {
                out.add(lexicon.replacement(w, rng));
            } else {
                out.add(w);
            }
        }
        if (rng.nextDouble() < ngramProbability) {
            int n = 1 + rng.nextInt(MAX_NGRAM);
            if (n < out.size()) {
                int start = rng.nextInt(out.size() - n + 1);
                return new ArrayList<>(out.subList(start, start + n));
            }
        }
        return out;
    }

    /**
     * The transfer set of some training sentences.
     *
     * @param originals the training sentences as word lists, each non-empty
     * @param lexicon their part-of-speech lexicon
     * @param maxSize the most sentences in the set (0: no limit)
     * @param seed the RNG seed
     * @return the originals, then the distinct augmented copies; entry {@code i < originals.size()} is original {@code i}
     */
    public List<List<String>> transferSet(List<List<String>> originals, PosLexicon lexicon, int maxSize, long seed) {
        if (maxSize < 0) {
            throw new IllegalArgumentException("maxSize = " + maxSize + ": must be 0 (no limit) or more");
        }
        List<List<String>> out = new ArrayList<>(originals);
        Set<List<String>> seen = new HashSet<>(originals);
        Random rng = new Random(seed);
        for (int it = 0; it < iterations; it++) {
            for (List<String> s : originals) {
                if (maxSize > 0 && out.size() >= maxSize) {
                    return out;
                }
                List<String> copy = augment(s, lexicon, rng);
                if (seen.add(copy)) {
                    out.add(copy);
                }
            }
        }
        return out;
    }
}
