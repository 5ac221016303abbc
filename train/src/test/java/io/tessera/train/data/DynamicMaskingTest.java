package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Masking statistics against binomial bounds: a share estimated from n draws of probability p
 * lies within 5 standard deviations sqrt(p(1-p)/n) of p (randomised rounding per sequence only
 * lowers the variance below the binomial one).
 */
class DynamicMaskingTest {

    private static void assertWithinFiveSigma(String what, long hits, long n, double p) {
        double share = (double) hits / n;
        double sigma = Math.sqrt(p * (1 - p) / n);
        System.out.printf("%s: %d / %d = %.5f (expected %.5f, 5 sigma = %.5f)%n", what, hits, n, share, p, 5 * sigma);
        assertTrue(Math.abs(share - p) < 5 * sigma, what + ": share " + share + " vs " + p + " ± " + 5 * sigma);
    }

    @Test
    void masksFifteenPercentSplitEightyTenTen() {
        BertPretrainingDataset data = TestData.nspDataset();
        Vocabulary vocab = data.vocabulary();
        long eligible = 0;
        long chosen = 0;
        long masked = 0;
        long randomised = 0;
        long kept = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            for (int i = 0; i < data.size(); i++) {
                Example original = data.unmaskedExample(i);
                Example e = data.example(epoch, i);
                assertEquals(original.tokenTypeIds().length, e.tokenTypeIds().length);
                assertEquals(original.sequenceLabel(), e.sequenceLabel());
                for (int t = 0; t < e.seqLength(); t++) {
                    int id = original.inputIds()[t];
                    boolean special = vocab.isSpecial(id);
                    eligible += special ? 0 : 1;
                    if (e.labels()[t] == Batch.IGNORE_INDEX) {
                        assertEquals(id, e.inputIds()[t], "unchosen tokens stay");
                        continue;
                    }
                    assertFalse(special, "special tokens are never chosen");
                    assertEquals(id, e.labels()[t], "the label is the original token");
                    chosen++;
                    int input = e.inputIds()[t];
                    if (input == vocab.maskId()) {
                        masked++;
                    } else if (input == id) {
                        kept++;
                    } else {
                        assertFalse(vocab.isSpecial(input), "random replacements are ordinary tokens");
                        randomised++;
                    }
                }
            }
        }
        // A random replacement equal to the original reads as "kept".
        double same = 1.0 / (vocab.size() - Vocabulary.SPECIAL_TOKENS.size());
        assertWithinFiveSigma("chosen", chosen, eligible, 0.15);
        assertWithinFiveSigma("[MASK]", masked, chosen, 0.8);
        assertWithinFiveSigma("random", randomised, chosen, 0.1 * (1 - same));
        assertWithinFiveSigma("kept", kept, chosen, 0.1 + 0.1 * same);
    }

    @Test
    void masksChangeWithTheEpochAndRepeatForTheSameTriple() {
        BertPretrainingDataset data = TestData.nspDataset();
        int differ = 0;
        int n = Math.min(500, data.size());
        for (int i = 0; i < n; i++) {
            Example e0 = data.example(0, i);
            Example e1 = data.example(1, i);
            differ += e0.equals(e1) ? 0 : 1;
            assertEquals(e0, data.example(0, i));
        }
        assertTrue(differ > n * 0.95, differ + " of " + n + " examples masked differently in epochs 0 and 1");

        // Order and thread do not matter: backwards, in parallel, equals forwards.
        List<Example> forwards = IntStream.range(0, n).mapToObj(i -> data.example(5, i)).collect(Collectors.toList());
        List<Example> parallel = IntStream.range(0, n).parallel().map(i -> n - 1 - i)
                .mapToObj(i -> data.example(5, i)).collect(Collectors.toList());
        for (int i = 0; i < n; i++) {
            assertEquals(forwards.get(i), parallel.get(n - 1 - i));
        }
    }

    @Test
    void wholeWordMaskingMasksEveryPieceOfAWord() {
        BertPretrainingDataset data = BertPretrainingDataset.create(TestData.trainCorpus(), TestData.tokenizer(),
                BertDataConfig.builder().optMaxSeqLength(128).optSeed(TestData.SEED).optWholeWordMasking(true).build());
        Vocabulary vocab = data.vocabulary();
        long words = 0;
        long chosenWords = 0;
        long chosenMultiPiece = 0;
        for (int i = 0; i < data.size(); i++) {
            int[] ids = data.unmaskedExample(i).inputIds();
            int[] labels = data.example(0, i).labels();
            int t = 0;
            while (t < ids.length) {
                if (vocab.isSpecial(ids[t])) {
                    assertEquals(Batch.IGNORE_INDEX, labels[t]);
                    t++;
                    continue;
                }
                int end = t + 1;
                while (end < ids.length && vocab.isContinuation(ids[end])) {
                    end++;
                }
                boolean chosen = labels[t] != Batch.IGNORE_INDEX;
                for (int p = t; p < end; p++) {
                    assertEquals(chosen, labels[p] != Batch.IGNORE_INDEX, "word pieces masked together");
                }
                words++;
                chosenWords += chosen ? 1 : 0;
                chosenMultiPiece += chosen && end - t > 1 ? 1 : 0;
                t = end;
            }
        }
        assertWithinFiveSigma("chosen words", chosenWords, words, 0.15);
        assertTrue(chosenMultiPiece > 100, chosenMultiPiece + " multi-piece words masked");
    }

    @Test
    void aSequenceWithoutOrdinaryTokensIsLeftAlone() {
        Vocabulary vocab = TestData.smallVocabulary("a");
        DynamicMasking masking = new DynamicMasking(vocab, BertDataConfig.builder().build());
        int[] tokens = {vocab.clsId(), vocab.sepId(), vocab.unkId(), vocab.sepId()};
        Example e = masking.apply(tokens, 2, 1, 6, Seeds.random(1, 2, 3));
        assertEquals(List.of(2, 3, 1, 3, 0, 0), IntStream.of(e.inputIds()).boxed().collect(Collectors.toList()));
        assertEquals(List.of(0, 0, 1, 1, 0, 0), IntStream.of(e.tokenTypeIds()).boxed().collect(Collectors.toList()));
        assertEquals(List.of(1, 1, 1, 1, 0, 0), IntStream.of(e.attentionMask()).boxed().collect(Collectors.toList()));
        assertTrue(IntStream.of(e.labels()).allMatch(l -> l == Batch.IGNORE_INDEX));
        assertEquals(1, e.sequenceLabel());
    }
}
