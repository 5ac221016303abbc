package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Scalars;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The masked-LM head's projection of only the labelled positions: the selection itself on a
 * hand-worked case, and BERT's training path ({@code lossTerms}, masked rows only) against its
 * Hugging Face path ({@code loss}, every position): the same loss, gradients and correct-token count,
 * alone and split over two tensor-parallel ranks, dropout on.
 */
class LabelledRowsTest {

    @Test
    void selectsTheLabelledPositionsInOrder() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray labels = m.create(new long[] {-100, 7, -100, 3, 0, -100}, new Shape(2, 3));
            NDArray positions = LabelledRows.positions(labels);
            assertArrayEquals(new long[] {1, 3, 4}, positions.toLongArray(), "flat indices b·T + t of labels ≠ -100");
            assertArrayEquals(new long[] {7, 3, 0}, LabelledRows.labels(labels, positions).toLongArray());
            NDArray x = m.arange(12f).reshape(2, 3, 2); // row n = (2n, 2n + 1)
            assertArrayEquals(new float[] {2, 3, 6, 7, 8, 9}, LabelledRows.rows(x, positions).toFloatArray());
            assertEquals(new Shape(3, 2), LabelledRows.rows(x, positions).getShape());
            assertEquals(0, LabelledRows.positions(m.full(new Shape(2, 3), -100L)).getShape().get(0));
        }
    }

    /** Loss, gradients and correct masked tokens of one rank, by the training path or the full one. */
    private static float[][] bert(int degree, boolean trainingPath) {
        TransformerConfig config = Kind.BERT.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        List<float[][]> ranks = TpTesting.run(degree, pc -> {
            BertForPreTraining model = new BertForPreTraining(config, pc, false);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m);
                 Tape tape = new Tape(m, 21, true)) {
                ModelTesting.perturb(model, m, 0.02f);
                Var loss;
                float correct;
                if (trainingPath) {
                    LossTerms terms = model.lossTerms(tape, Kind.BERT.batch(m), true);
                    LossTerms.Term mlm = terms.terms().get(0);
                    LossTerms.Term nsp = terms.terms().get(1);
                    loss = tape.apply1("mean", false, (ctx, in) -> new NDList(in.get(0).div(Scalars.of(in.get(0), mlm.count()))
                            .add(in.get(1).div(Scalars.of(in.get(1), nsp.count())))), mlm.sum(), nsp.sum());
                    correct = mlm.correct();
                } else {
                    TokenBatch batch = Kind.BERT.batch(m);
                    NDArray labels = batch.labels().duplicate();
                    var out = model.forward(tape, batch);
                    loss = out.loss();
                    correct = model.correctTokens(tape, "eval", out.mlmLogits(), labels);
                }
                tape.backward(loss);
                return new float[][] {{loss.value().getFloat(), correct}, buf.grads().toFloatArray()};
            }
        });
        return ranks.get(0);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void bertTrainingPathEqualsEveryPositionLogits(int degree) {
        float[][] all = bert(degree, false);
        float[][] masked = bert(degree, true);
        TpTesting.assertClose(all[0], masked[0], 1e-6, "loss and correct masked tokens, tp " + degree);
        TpTesting.assertClose(all[1], masked[1], 1e-5, "gradients, tp " + degree);
    }
}
