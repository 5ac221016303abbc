package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.ModelTesting.Result;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ALBERT with shared layer groups and a factorised embedding at tensor-parallel degrees 2 and 4 (ranks
 * in one JVM over the Netty backend) gives the degree-1 loss (≤ 1e-5 relative), logits and gathered
 * gradients (≤ 1e-4 relative), dropout off, with a vocabulary neither degree divides.
 */
class AlbertTensorParallelTest {

    @Test
    void degreesTwoAndFourMatchDegreeOne() {
        TransformerConfig config = AlbertTesting.config();
        assertEquals(1004, config.paddedVocabSize(4));
        Result reference = AlbertTesting.run(config, 1, LocalCluster.Backend.IN_PROCESS).get(0);
        assertTrue(reference.loss() > 1 && Float.isFinite(reference.loss()), "loss " + reference.loss());
        assertEquals(ModelTesting.B * ModelTesting.T * ModelTesting.VOCAB, reference.logits().length);
        for (int degree : new int[] {2, 4}) {
            List<Result> ranks = AlbertTesting.run(config, degree, LocalCluster.Backend.NETTY);
            for (int r = 0; r < degree; r++) {
                Result got = ranks.get(r);
                String where = "ALBERT degree " + degree + " rank " + r;
                TpTesting.assertClose(new float[] {reference.loss()}, new float[] {got.loss()}, 1e-5, where + " loss");
                TpTesting.assertClose(reference.logits(), got.logits(), 1e-5, where + " logits");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
            }
        }
    }
}
