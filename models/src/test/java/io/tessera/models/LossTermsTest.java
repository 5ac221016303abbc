package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.parallel.ParallelContext;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The model contract: loss terms are sums over labelled positions with hand-counted label counts
 * (GPT-2's shift included), their sum over count is the model's mean loss, and correct predictions
 * never exceed the count.
 */
class LossTermsTest {

    private static TokenBatch batch(NDManager m, ModelTesting.Kind kind, int[] labels, int[] nsp) {
        int b = 2;
        int t = 4;
        int[] ids = {5, 6, 7, 8, 9, 10, 11, 12};
        return TokenBatch.of(m, b, t, ids, kind == ModelTesting.Kind.GPT2 ? null : new int[8], null, labels, nsp);
    }

    @Test
    void bertCountsLabelledTokensAndSequences() {
        check(ModelTesting.Kind.BERT, new int[] {-100, 6, -100, -100, 9, -100, 11, -100}, new int[] {1, -100},
                Map.of("mlm", 3L, "nsp", 1L));
    }

    @Test
    void gpt2CountsTheTargetsAfterTheShift() {
        // Position t predicts label t+1: row 0 targets (6, -100, 8), row 1 targets (10, 11, -100): four,
        // although five labels are set (the first label of each row is never a target).
        check(ModelTesting.Kind.GPT2, new int[] {5, 6, -100, 8, 9, 10, 11, -100}, null, Map.of("lm", 4L));
    }

    private static void check(ModelTesting.Kind kind, int[] labels, int[] nsp, Map<String, Long> expected) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = kind.model(kind.config(), ParallelContext.single());
            try (ParameterBuffer params = ParameterBuffer.allocate(model, 3, m); Tape tape = new Tape(m, 0, false, false)) {
                TokenBatch tb = batch(m, kind, labels, nsp);
                List<String> names = List.copyOf(model.labelCounts(tb).keySet());
                assertEquals(expected, Map.copyOf(model.labelCounts(tb)));
                LossTerms terms = model.lossTerms(tape, tb, true);
                assertEquals(names, terms.names());
                double meanSum = 0;
                for (LossTerms.Term term : terms.terms()) {
                    assertEquals(expected.get(term.name()), term.count(), term.name());
                    boolean tokens = !term.name().equals("nsp"); // masked and next tokens are counted; NSP has no accuracy
                    assertTrue(tokens ? term.correct() >= 0 && term.correct() <= term.count() : term.correct() == -1,
                            term.name() + " correct " + term.correct());
                    meanSum += term.sum().value().getFloat() / term.count();
                }
                double loss = model.loss(tape, batch(m, kind, labels, nsp)).value().getFloat();
                assertEquals(loss, meanSum, 1e-5 * Math.abs(loss), "Σ sum/count is the model's mean loss");
            }
        }
    }

    @Test
    void aTermWithoutLabelsHasNoSum() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = ModelTesting.Kind.BERT.model(ModelTesting.Kind.BERT.config(), ParallelContext.single());
            try (ParameterBuffer params = ParameterBuffer.allocate(model, 3, m); Tape tape = new Tape(m, 0, false, false)) {
                LossTerms terms = model.lossTerms(tape, batch(m, ModelTesting.Kind.BERT, new int[8], new int[] {0, 1}), false);
                LossTerms.Term mlm = terms.terms().get(0);
                assertEquals(8, mlm.count(), "labels 0 are labels");
                assertEquals(-1, mlm.correct(), "not asked for");
                LossTerms none = model.lossTerms(tape, batch(m, ModelTesting.Kind.BERT, fill(-100), new int[] {0, 1}), false);
                assertNull(none.terms().get(0).sum());
                assertEquals(0, none.terms().get(0).count());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new LossTerms.Term("x", null, 3, -1));
    }

    private static int[] fill(int v) {
        int[] a = new int[8];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
