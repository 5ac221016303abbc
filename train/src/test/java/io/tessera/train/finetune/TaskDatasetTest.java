package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.train.data.Batch;
import io.tessera.train.data.DistributedBatchSampler;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Task sentences as padded examples, trimmed batches, and the pretraining sampler over them. */
class TaskDatasetTest {

    static final TaskTokenizer TOKENIZER = TokenAlignmentTest.TOKENIZER; // 2 [CLS] 3 [SEP] 5 eu 6 reject 7 ##s 8 german 9 call

    @Test
    void classificationRowsKeepTheirSeparatorWhenCut() {
        LabelSet labels = LabelSet.of(List.of("0", "1"));
        TaskDataset d = TaskDataset.classification(List.of(new LabeledSentence("eu rejects german call", "1", 2),
                new LabeledSentence("call", "0", 3)), labels, TOKENIZER, 5, 7);
        assertArrayEquals(new int[] {2, 5, 6, 7, 3}, d.example(0, 0).inputIds());       // german call cut, [SEP] kept
        assertArrayEquals(new int[] {2, 9, 3, 0, 0}, d.example(0, 1).inputIds());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0}, d.example(0, 1).attentionMask());
        assertEquals(1, d.example(0, 0).sequenceLabel());
        assertEquals(0, d.example(3, 1).sequenceLabel());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskDataset.classification(
                List.of(new LabeledSentence("call", "neutral", 9)), labels, TOKENIZER, 5, 7));
        assertTrue(e.getMessage().contains("line 9: label 'neutral' is not one of the model's labels [0, 1]"), e.getMessage());
    }

    @Test
    void tokenSentencesCarryFirstSubTokenLabelsAndTrimToTheLongestRow() {
        LabelSet tags = LabelSet.of(List.of("O", "B-ORG", "B-MISC"));
        TaskDataset d = TaskDataset.tokens(List.of(new TaggedSentence(List.of("EU", "rejects"), List.of("B-ORG", "O"), 1),
                new TaggedSentence(List.of("call"), List.of("O"), 4)), tags, TOKENIZER, 8, 7);
        assertArrayEquals(new int[] {-100, 1, 0, -100, -100, -100, -100, -100}, d.example(0, 0).labels());
        DistributedBatchSampler sampler = DistributedBatchSampler.builder().setDataset(d).setGlobalBatchSize(2)
                .setMicroBatchSize(2).optShuffle(false).build();
        Batch b = sampler.microBatch(0, 0, 0).trimmed();
        assertEquals(5, b.seqLength());                                                  // [CLS] eu reject ##s [SEP]
        assertArrayEquals(new int[] {2, 5, 6, 7, 3, 2, 9, 3, 0, 0}, b.inputIds());
        assertArrayEquals(new int[] {-100, 1, 0, -100, -100, -100, 0, -100, -100, -100}, b.labels());
        assertSame(b, b.trimmed());
        assertArrayEquals(new int[] {1, 2, 4}, new int[] {d.alignment(0).wordStarts()[0], d.alignment(0).wordStarts()[1],
            d.example(0, 0).length() - 1});
    }
}
