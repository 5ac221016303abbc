package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Example construction: layout, NSP balance, full sentences, determinism. */
class BertPretrainingDatasetTest {

    @Test
    void sentencePairsHaveBertLayout() {
        BertPretrainingDataset data = TestData.nspDataset();
        Vocabulary vocab = data.vocabulary();
        assertTrue(data.size() > 1500, data.size() + " examples");
        int shortOnes = 0;
        for (int i = 0; i < data.size(); i++) {
            Example e = data.unmaskedExample(i);
            int n = e.length();
            int[] ids = e.inputIds();
            assertEquals(128, e.seqLength());
            assertEquals(vocab.clsId(), ids[0]);
            assertEquals(vocab.sepId(), ids[n - 1]);
            int firstSep = -1;
            for (int t = 1; t < n - 1; t++) {
                if (ids[t] == vocab.sepId()) {
                    assertEquals(-1, firstSep, "exactly two [SEP]");
                    firstSep = t;
                }
            }
            assertTrue(firstSep >= 2 && firstSep <= n - 3, "segments A and B are non-empty");
            for (int t = 0; t < 128; t++) {
                assertEquals(t < n ? 1 : 0, e.attentionMask()[t]);
                assertEquals(t > firstSep && t < n ? 1 : 0, e.tokenTypeIds()[t]);
                assertEquals(Batch.IGNORE_INDEX, e.labels()[t]);
                if (t >= n) {
                    assertEquals(vocab.padId(), ids[t]);
                }
            }
            assertTrue(e.sequenceLabel() == 0 || e.sequenceLabel() == 1);
            shortOnes += n < 100 ? 1 : 0;
        }
        assertTrue(shortOnes > 0 && shortOnes < data.size() / 3, shortOnes + " short examples");
    }

    @Test
    void halfOfTheNextSentencesAreRandom() {
        BertPretrainingDataset data = TestData.nspDataset();
        int n = data.size();
        int random = 0;
        for (int i = 0; i < n; i++) {
            random += data.unmaskedExample(i).sequenceLabel();
        }
        double share = (double) random / n;
        double sigma = Math.sqrt(0.25 / n);
        System.out.printf("NSP: %d of %d pairs random (%.4f, 5 sigma = %.4f)%n", random, n, share, 5 * sigma);
        assertTrue(Math.abs(share - 0.5) < 5 * sigma, "random-next share " + share);
    }

    @Test
    void constructionIsAFunctionOfTheSeed() {
        Corpus corpus = TestData.trainCorpus();
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        BertPretrainingDataset again = BertPretrainingDataset.create(corpus, tokenizer,
                BertDataConfig.builder().optMaxSeqLength(128).optSeed(TestData.SEED).build());
        BertPretrainingDataset reference = TestData.nspDataset();
        assertEquals(reference.size(), again.size());
        for (int i = 0; i < reference.size(); i += 7) {
            assertEquals(reference.unmaskedExample(i), again.unmaskedExample(i));
            assertEquals(reference.example(3, i), again.example(3, i));
        }
        BertPretrainingDataset other = BertPretrainingDataset.create(corpus, tokenizer,
                BertDataConfig.builder().optMaxSeqLength(128).optSeed(TestData.SEED + 1).build());
        int same = 0;
        for (int i = 0; i < Math.min(100, other.size()); i++) {
            same += reference.unmaskedExample(i).equals(other.unmaskedExample(i)) ? 1 : 0;
        }
        assertTrue(same < 50, same + " of 100 examples unchanged by another seed");
    }

    @Test
    void fullSentencesPackTheWholeCorpus() {
        Corpus corpus = TestData.trainCorpus();
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        Vocabulary vocab = tokenizer.vocabulary();
        BertPretrainingDataset data = BertPretrainingDataset.create(corpus, tokenizer, BertDataConfig.builder()
                .optObjective(BertDataConfig.Objective.FULL_SENTENCES).optMaxSeqLength(128).build());
        // Removing [CLS], the closing [SEP] and the document separators gives the corpus back.
        IntList packed = new IntList(1 << 18);
        int separators = 0;
        long filled = 0;
        for (int i = 0; i < data.size(); i++) {
            Example e = data.unmaskedExample(i);
            int n = e.length();
            assertEquals(vocab.clsId(), e.inputIds()[0]);
            assertEquals(vocab.sepId(), e.inputIds()[n - 1]);
            assertEquals(Batch.IGNORE_INDEX, e.sequenceLabel());
            for (int t = 0; t < 128; t++) {
                assertEquals(0, e.tokenTypeIds()[t]);
            }
            for (int t = 1; t < n - 1; t++) {
                if (e.inputIds()[t] == vocab.sepId()) {
                    separators++;
                } else {
                    packed.add(e.inputIds()[t]);
                }
            }
            filled += n;
        }
        IntList expected = new IntList(1 << 18);
        for (Document d : corpus.documents()) {
            for (String s : d.sentences()) {
                expected.addAll(tokenizer.encode(s));
            }
        }
        assertArrayEquals(expected.toArray(), packed.toArray());
        assertTrue(separators > 0 && separators < corpus.documents().size(), separators + " document separators");
        double meanLength = (double) filled / data.size();
        System.out.printf("FULL_SENTENCES: %d examples, mean length %.1f of 128%n", data.size(), meanLength);
        assertTrue(meanLength > 100, "packed examples are mostly full: mean length " + meanLength);
    }

    @Test
    void longSentencesAreTruncatedOrCut() {
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        String longSentence = "the lobster is blue and red ".repeat(20) + ".";
        Corpus corpus = Corpus.of("long", List.of(
                new Document("a", List.of(longSentence, "a short one .", longSentence)),
                new Document("b", List.of(longSentence, "another short one ."))));
        for (BertDataConfig.Objective objective : BertDataConfig.Objective.values()) {
            BertPretrainingDataset data = BertPretrainingDataset.create(corpus, tokenizer,
                    BertDataConfig.builder().optObjective(objective).optMaxSeqLength(16).build());
            for (int i = 0; i < data.size(); i++) {
                Example e = data.example(0, i);
                assertTrue(e.length() <= 16);
                assertEquals(tokenizer.vocabulary().sepId(), e.inputIds()[e.length() - 1]);
            }
        }
    }

    @Test
    void aSingleDocumentDrawsRandomSentencesFromItself() {
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        List<String> sentences = TestData.trainCorpus().documents().get(0).sentences().subList(0, 40);
        Corpus corpus = Corpus.of("one document", List.of(new Document("only", sentences)));
        BertPretrainingDataset data = BertPretrainingDataset.create(corpus, tokenizer,
                BertDataConfig.builder().optMaxSeqLength(64).build());
        int random = 0;
        for (int i = 0; i < data.size(); i++) {
            random += data.example(0, i).sequenceLabel();
        }
        assertTrue(data.size() > 10 && random > 0 && random < data.size(), random + " of " + data.size());
    }

    @Test
    void validatesConfig() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BertDataConfig.builder().optMaxSeqLength(4).build());
        assertTrue(e.getMessage().contains("maxSeqLength is 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BertDataConfig.builder().optReplacement(0.8, 0.3).build());
        assertTrue(e.getMessage().contains("exceeds 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BertDataConfig.builder().optMaskProbability(1.5).build());
        assertTrue(e.getMessage().contains("maskProbability is 1.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TestData.nspDataset().example(0, -1));
        assertTrue(e.getMessage().contains("index -1"), e.getMessage());
        assertFalse(BertDataConfig.builder().build().wholeWordMasking());
        assertNotEquals(BertDataConfig.Objective.FULL_SENTENCES, BertDataConfig.builder().build().objective());
    }
}
