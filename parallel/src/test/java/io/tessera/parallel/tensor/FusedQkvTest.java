package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.nn.Partition;
import io.tessera.core.nn.ParameterBuffer;
import org.junit.jupiter.api.Test;

/** The rank-major layout of a fused q/k/v projection hands each rank its own heads' q, k and v. */
class FusedQkvTest {

    @Test
    void eachRankGetsItsHeadsQueriesKeysAndValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            int c = 8;
            NDArray hf = m.arange(3f * c).reshape(1, 3 * c).repeat(0, 2);   // [2, 24], value = column index
            NDArray rankMajor = FusedQkv.toRankMajor(hf, 1, 2);
            NDArray rank1 = ParameterBuffer.localSlice(rankMajor, new Partition(1, 1, 2)).get(new NDIndex("0"));
            assertArrayEquals(new float[] {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23}, rank1.toFloatArray());
            assertArrayEquals(hf.toFloatArray(), FusedQkv.toHuggingFace(rankMajor, 1, 2).toFloatArray());
            NDArray bias = m.arange(3f * c);
            assertArrayEquals(bias.toFloatArray(), FusedQkv.toHuggingFace(FusedQkv.toRankMajor(bias, 0, 4), 0, 4).toFloatArray());
        }
    }
}
