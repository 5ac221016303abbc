package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The augmentation rules of Tang et al. (2019), each isolated by setting the other probabilities to 0. */
class AugmentationTest {

    private static final List<List<String>> SENTENCES = List.of(
            List.of("the", "film", "is", "very", "good", "."),
            List.of("a", "plot", "was", "very", "dull", "."),
            List.of("the", "cast", "is", "quickly", "boring", "and", "the", "score", "is", "awful", "."));
    private static final PosLexicon LEXICON = PosLexicon.build(SENTENCES);

    @Test
    void maskingRateMatchesPMaskOverManyDraws() {
        Augmentation a = new Augmentation(0.3, 0, 0, 1);
        Random r = new Random(1);
        int masked = 0;
        int words = 0;
        for (int i = 0; i < 4000; i++) {
            List<String> out = a.augment(SENTENCES.get(2), LEXICON, r);
            assertEquals(SENTENCES.get(2).size(), out.size(), "masking alone keeps the length");
            for (int w = 0; w < out.size(); w++) {
                if (out.get(w).equals(WordVocabulary.MASK)) {
                    masked++;
                } else {
                    assertEquals(SENTENCES.get(2).get(w), out.get(w), "an unmasked word is kept");
                }
                words++;
            }
        }
        // 44,000 Bernoulli(0.3) draws: standard deviation of the rate 0.0022; 0.01 is 4.5 of them.
        assertEquals(0.3, (double) masked / words, 0.01);
    }

    @Test
    void posReplacementKeepsEveryWordsTag() {
        Augmentation a = new Augmentation(0, 1, 0, 1);
        Random r = new Random(2);
        boolean changed = false;
        for (int i = 0; i < 200; i++) {
            List<String> in = SENTENCES.get(i % 3);
            List<String> out = a.augment(in, LEXICON, r);
            assertEquals(in.size(), out.size());
            for (int w = 0; w < in.size(); w++) {
                assertEquals(LEXICON.tagOf(in.get(w)), LEXICON.tagOf(out.get(w)), in.get(w) + " → " + out.get(w));
                changed |= !in.get(w).equals(out.get(w));
            }
        }
        assertTrue(changed, "some word was replaced by another");
    }

    @Test
    void ngramRuleKeepsAContiguousRunOfOneToFiveWords() {
        Augmentation a = new Augmentation(0, 0, 1, 1);
        Random r = new Random(3);
        List<String> in = SENTENCES.get(2);
        Set<Integer> lengths = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            List<String> out = a.augment(in, LEXICON, r);
            assertTrue(out.size() >= 1 && out.size() <= Augmentation.MAX_NGRAM, "length " + out.size());
            assertTrue(Collections.indexOfSubList(in, out) >= 0, out + " is a contiguous part of " + in);
            lengths.add(out.size());
        }
        assertEquals(Set.of(1, 2, 3, 4, 5), lengths, "n is drawn from 1..5");
        List<String> short3 = List.of("very", "good", ".");
        for (int i = 0; i < 100; i++) {
            List<String> out = a.augment(short3, LEXICON, r);
            assertTrue(Collections.indexOfSubList(short3, out) >= 0 && !out.isEmpty(), out.toString());
        }
    }

    @Test
    void transferSetKeepsOriginalsFirstAndDropsDuplicates() {
        Augmentation a = Augmentation.defaults();
        List<List<String>> set = a.transferSet(SENTENCES, LEXICON, 0, 5);
        assertEquals(SENTENCES, set.subList(0, SENTENCES.size()), "the originals come first, in order");
        assertEquals(set.size(), new HashSet<>(set).size(), "no sentence twice");
        assertTrue(set.size() > SENTENCES.size() && set.size() <= SENTENCES.size() * (1 + a.iterations()), "size " + set.size());
        assertEquals(set, a.transferSet(SENTENCES, LEXICON, 0, 5), "the same seed gives the same set");
        assertNotEquals(set, a.transferSet(SENTENCES, LEXICON, 0, 6), "another seed another set");
    }

    @Test
    void aSentenceOfOneRepeatedWordGivesFewDistinctCopies() {
        // Only [MASK] can change a one-word vocabulary's sentence, and the n-gram rule: a handful of distinct copies at most.
        List<List<String>> one = List.of(List.of("good", "good"));
        List<List<String>> set = new Augmentation(0.5, 0, 0.5, 50).transferSet(one, PosLexicon.build(one), 0, 1);
        assertEquals(Set.of(List.of("good", "good"), List.of("[MASK]", "good"), List.of("good", "[MASK]"), List.of("[MASK]", "[MASK]"),
                List.of("good"), List.of("[MASK]")), new HashSet<>(set));
    }

    @Test
    void maxSizeCapsTheSetButKeepsEveryOriginal() {
        List<List<String>> set = Augmentation.defaults().transferSet(SENTENCES, LEXICON, 5, 5);
        assertEquals(5, set.size());
        assertEquals(SENTENCES, set.subList(0, 3));
        assertEquals(SENTENCES, Augmentation.defaults().transferSet(SENTENCES, LEXICON, 2, 5), "a cap below the originals keeps them");
        assertEquals(SENTENCES, new Augmentation(0.1, 0.1, 0.25, 0).transferSet(SENTENCES, LEXICON, 0, 5), "0 iterations: originals only");
    }

    @Test
    void badProbabilitiesAreRefusedWithTheRule() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Augmentation(0.7, 0.5, 0, 1));
        assertTrue(e.getMessage().contains("sum to at most 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Augmentation(0.1, 0.1, 1.2, 1));
        assertTrue(e.getMessage().contains("ngramProbability = 1.2"), e.getMessage());
    }
}
