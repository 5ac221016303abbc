package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.HeadTesting.Head;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sequence classification, regression and token classification on BERT, Megatron-BERT, RoBERTa and
 * DistilBERT at tensor-parallel degrees 2 and 4 (in-JVM ranks) give the degree-1 loss (≤ 1e-5
 * relative), logits (≤ 1e-5) and gathered gradients (≤ 1e-4), with dropout off; every rank's logits
 * are the same (replicated).
 */
class TaskHeadEquivalenceTest {

    @ParameterizedTest
    @MethodSource("io.tessera.models.HeadTesting#cases")
    void degreesTwoAndFourMatchDegreeOne(Kind kind, Head head) {
        Result reference = HeadTesting.run(kind, head, 1).get(0);
        assertTrue(reference.loss() > 0 && Float.isFinite(reference.loss()), "loss " + reference.loss());
        int k = HeadTesting.config(kind, head).head().numLabels();
        int rows = head == Head.TOKEN ? ModelTesting.B * ModelTesting.T : ModelTesting.B;
        assertEquals(rows * k, reference.logits().length, "logits are [B, K] or [B, T, K]");
        for (int degree : new int[] {2, 4}) {
            List<Result> ranks = HeadTesting.run(kind, head, degree);
            for (int r = 0; r < degree; r++) {
                Result got = ranks.get(r);
                String where = kind + " " + head + " degree " + degree + " rank " + r;
                TpTesting.assertClose(new float[] {reference.loss()}, new float[] {got.loss()}, 1e-5, where + " loss");
                TpTesting.assertClose(reference.logits(), got.logits(), 1e-5, where + " logits");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
            }
        }
    }
}
