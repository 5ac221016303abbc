package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class Gpt2DatasetTest {

    @Test
    void blocksTileTheTokenStream() {
        Corpus corpus = TestData.trainCorpus();
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        Gpt2Dataset data = Gpt2Dataset.create(corpus, tokenizer, 256, 7);
        IntList stream = new IntList(1 << 18);
        for (Document d : corpus.documents()) {
            for (String s : d.sentences()) {
                stream.addAll(tokenizer.encode(s));
            }
            stream.add(tokenizer.vocabulary().sepId());
        }
        assertEquals(stream.size(), data.tokenCount());
        assertEquals(stream.size() / 256, data.size());
        int[] all = stream.toArray();
        for (int i = 0; i < data.size(); i += 13) {
            Example e = data.example(0, i);
            assertArrayEquals(Arrays.copyOfRange(all, i * 256, (i + 1) * 256), e.inputIds());
            assertArrayEquals(e.inputIds(), e.labels(), "labels = inputIds, the model shifts");
            assertTrue(Arrays.stream(e.attentionMask()).allMatch(m -> m == 1));
            assertTrue(Arrays.stream(e.tokenTypeIds()).allMatch(m -> m == 0));
            assertEquals(Batch.IGNORE_INDEX, e.sequenceLabel());
            assertEquals(e, data.example(4, i), "no masking: the same block in every epoch");
        }
    }

    @Test
    void rejectsTooShortSequencesAndCorpora() {
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        Corpus tiny = Corpus.of("tiny corpus", List.of(new Document("t", List.of("the lobster ."))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2Dataset.create(tiny, tokenizer, 1, 0));
        assertTrue(e.getMessage().contains("seqLength is 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Dataset.create(tiny, tokenizer, 64, 0));
        assertTrue(e.getMessage().contains("tiny corpus tokenizes to 4 tokens"), e.getMessage());
    }
}
