package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.nn.Initializer;
import org.junit.jupiter.api.Test;

/** Layers that the degree does not divide fail at declaration, before any memory exists, naming the numbers. */
class MisconfigurationTest {

    @Test
    void errorsNameTheNumbers() {
        TpTesting.run(4, pc -> {
            String heads = assertThrows(IllegalArgumentException.class,
                    () -> ParallelSelfAttention.builder(pc, 24, 6).build()).getMessage();
            assertTrue(heads.contains("heads = 6") && heads.contains("degree 4"), heads);
            String column = assertThrows(IllegalArgumentException.class,
                    () -> ColumnParallelLinear.builder(pc, 8, 30).build()).getMessage();
            assertTrue(column.contains("outFeatures = 30") && column.contains("degree 4"), column);
            String row = assertThrows(IllegalArgumentException.class,
                    () -> RowParallelLinear.builder(pc, 30, 8).build()).getMessage();
            assertTrue(row.contains("inFeatures = 30") && row.contains("degree 4"), row);
            String vocab = assertThrows(IllegalArgumentException.class,
                    () -> new VocabParallelEmbedding(pc, 1001, 1001, 8, Initializer.zeros())).getMessage();
            assertTrue(vocab.contains("paddedVocabSize = 1001") && vocab.contains("degree 4"), vocab);
            return 0;
        });
    }
}
