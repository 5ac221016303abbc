package io.tessera.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.models.TokenBatch;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face's {@code labels} is per sequence for a sequence classifier and per token otherwise. */
class HfEvaluationHeadsTest {

    @Test
    void labelsGoWhereTheHeadReadsThem(@TempDir Path dir) throws IOException {
        Path input = Files.writeString(dir.resolve("in.json"), "{\"input_ids\": [[5, 6, 7], [8, 9, 10]], \"labels\": [1, 0]}");
        TransformerConfig classes = Presets.get("bert-tiny").toBuilder()
                .optHead(HeadConfig.sequenceClassification(List.of("a", "b"))).build();
        TransformerConfig score = Presets.get("bert-tiny").toBuilder()
                .optHead(HeadConfig.sequenceClassification(List.of("score"))).build();
        try (NDManager m = NDManager.newBaseManager()) {
            TokenBatch b = HfEvaluation.readBatch(input, m, classes);
            assertNull(b.labels());
            assertEquals(DataType.INT64, b.sequenceLabels().getDataType());
            assertArrayEquals(new long[] {1, 0}, b.sequenceLabels().toLongArray());
            TokenBatch r = HfEvaluation.readBatch(input, m, score);
            assertEquals(DataType.FLOAT32, r.sequenceLabels().getDataType());
            Path wrong = Files.writeString(dir.resolve("wrong.json"), "{\"input_ids\": [[5, 6, 7], [8, 9, 10]], \"labels\": [1]}");
            assertThrows(IllegalArgumentException.class, () -> HfEvaluation.readBatch(wrong, m, classes));
        }
    }

    @Test
    void albertsSentenceOrderLabelsAreRead(@TempDir Path dir) throws IOException {
        Path input = Files.writeString(dir.resolve("in.json"),
                "{\"input_ids\": [[5, 6, 7], [8, 9, 10]], \"labels\": [[-100, 6, -100], [8, -100, -100]], \"sentence_order_label\": [1, 0]}");
        try (NDManager m = NDManager.newBaseManager()) {
            TokenBatch b = HfEvaluation.readBatch(input, m, Presets.get("albert-tiny"));
            assertArrayEquals(new long[] {1, 0}, b.nextSentenceLabels().toLongArray());
            assertArrayEquals(new long[] {-100, 6, -100, 8, -100, -100}, b.labels().toLongArray());
        }
    }
}
