package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * BERT (post-LN), Megatron-BERT (pre-LN) and GPT-2 at tensor-parallel degrees 2 and 4 give the degree-1
 * loss (≤ 1e-5 relative), logits and gathered gradients (≤ 1e-4 relative), with a vocabulary of 1001
 * that neither degree divides (padded to 1002 and 1004, padding masked out of the softmax).
 */
class TensorParallelEquivalenceTest {

    @ParameterizedTest
    @EnumSource(Kind.class)
    void degreesTwoAndFourMatchDegreeOne(Kind kind) {
        TransformerConfig config = kind.config();
        assertEquals(1001, config.paddedVocabSize(1));
        assertEquals(1004, config.paddedVocabSize(4));
        Result reference = ModelTesting.run(kind, config, 1).get(0);
        assertTrue(reference.loss() > 1 && Float.isFinite(reference.loss()), "loss " + reference.loss());
        for (int degree : new int[] {2, 4}) {
            List<Result> ranks = ModelTesting.run(kind, config, degree);
            for (int r = 0; r < degree; r++) {
                Result got = ranks.get(r);
                String where = kind + " degree " + degree + " rank " + r;
                TpTesting.assertClose(new float[] {reference.loss()}, new float[] {got.loss()}, 1e-5, where + " loss");
                TpTesting.assertClose(reference.logits(), got.logits(), 1e-5, where + " logits");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
            }
        }
    }
}
