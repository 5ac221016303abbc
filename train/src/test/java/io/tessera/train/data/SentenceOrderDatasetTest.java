package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ALBERT's sentence-order pairs: two consecutive segments of one document, in their order (label 0)
 * or swapped (label 1), half of the time each.
 */
class SentenceOrderDatasetTest {

    private static final String[] WORDS = {"city", "game", "year", "war", "team", "song", "film", "river"};

    @Test
    void pairsAreConsecutiveSegmentsSwappedHalfOfTheTime() {
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        Vocabulary vocab = tokenizer.vocabulary();
        List<String> sentences = new ArrayList<>();
        List<Integer> stream = new ArrayList<>();
        for (String w : WORDS) {
            sentences.add(w + " " + w + " .");
            for (int id : tokenizer.encode(w + " " + w + " .")) {
                stream.add(id);
            }
        }
        List<Document> docs = new ArrayList<>();
        for (int d = 0; d < 400; d++) {
            docs.add(new Document("d" + d, sentences));
        }
        BertPretrainingDataset data = BertPretrainingDataset.create(Corpus.of("test", docs), tokenizer, BertDataConfig.builder()
                .optObjective(BertDataConfig.Objective.SENTENCE_ORDER_PREDICTION).optMaxSeqLength(64).optSeed(7).build());
        int swapped = 0;
        for (int i = 0; i < data.size(); i++) {
            Example e = data.unmaskedExample(i);
            int[] ids = e.inputIds();
            int n = e.length();
            assertEquals(vocab.clsId(), ids[0]);
            assertEquals(vocab.sepId(), ids[n - 1]);
            int sep = 1;
            while (ids[sep] != vocab.sepId()) {
                sep++;
            }
            List<Integer> first = new ArrayList<>();
            List<Integer> second = new ArrayList<>();
            for (int j = 1; j < sep; j++) {
                first.add(ids[j]);
            }
            for (int j = sep + 1; j < n - 1; j++) {
                second.add(ids[j]);
            }
            assertTrue(!first.isEmpty() && !second.isEmpty(), "both segments non-empty: " + e);
            assertEquals(1, e.tokenTypeIds()[sep + 1], "segment B has token type 1");
            List<Integer> original = new ArrayList<>(e.sequenceLabel() == 1 ? second : first);
            original.addAll(e.sequenceLabel() == 1 ? first : second);
            assertTrue(Collections.indexOfSubList(stream, original) >= 0,
                    "label " + e.sequenceLabel() + ": the segments in original order are consecutive text: " + e);
            List<Integer> reversed = new ArrayList<>(e.sequenceLabel() == 1 ? first : second);
            reversed.addAll(e.sequenceLabel() == 1 ? second : first);
            assertTrue(Collections.indexOfSubList(stream, reversed) < 0, "the other order is not: " + e);
            swapped += e.sequenceLabel();
        }
        int n = data.size();
        double share = (double) swapped / n;
        assertTrue(n >= 400, n + " examples");
        assertTrue(Math.abs(share - 0.5) < 5 * Math.sqrt(0.25 / n), "swapped share " + share + " of " + n);
    }
}
