package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.HeadTesting.Head;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.models.heads.SequenceClassifier;
import io.tessera.models.heads.TokenClassifier;
import io.tessera.parallel.ParallelContext;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The heads' loss terms ({@code cls}, {@code tokens}: sums with label counts and arg-max hits, mean =
 * the forward loss) and their batch checks (labels in the wrong field, out of range or of the wrong type).
 */
class TaskHeadBatchTest {

    @Test
    void lossTermsAreSumsOverLabelledPositions() {
        for (Head head : Head.values()) {
            ClassifierModel m = (ClassifierModel) TransformerModel.of(HeadTesting.config(Kind.BERT, head), ParallelContext.single());
            try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 5, nd)) {
                ModelTesting.perturb(m, nd, 0.15f);
                float mean;
                long[] predicted;
                try (Tape tape = new Tape(nd, 1, false)) {
                    var out = m.forward(tape, HeadTesting.batch(Kind.BERT, head, nd));
                    mean = out.loss().value().getFloat();
                    predicted = out.logits().value().argMax(-1).toLongArray();
                }
                TokenBatch batch = HeadTesting.batch(Kind.BERT, head, nd);
                long[] labels = head == Head.TOKEN ? batch.labels().toLongArray()
                        : head == Head.SEQUENCE ? batch.sequenceLabels().toLongArray() : null;
                long count = 0;
                long hits = 0;
                for (int i = 0; labels != null && i < labels.length; i++) {
                    if (labels[i] != -100) {
                        count++;
                        hits += predicted[i] == labels[i] ? 1 : 0;
                    }
                }
                String name = head == Head.TOKEN ? TokenClassifier.TOKENS : SequenceClassifier.CLS;
                long expected = head == Head.REGRESSION ? ModelTesting.B : count;
                assertEquals(Map.of(name, expected), m.labelCounts(batch));
                try (Tape tape = new Tape(nd, 1, false)) {
                    LossTerms terms = m.lossTerms(tape, batch, true);
                    assertEquals(List.of(name), terms.names());
                    assertEquals(mean, terms.means().get(name), 1e-6 * Math.abs(mean), head + " mean");
                    assertEquals(head == Head.REGRESSION ? -1 : hits, terms.terms().get(0).correct(), head + " correct");
                }
            }
        }
    }

    @Test
    void badLabelsAreRefused() {
        assertRefused(Head.TOKEN, "labels holds 7, outside [0, 3)", (b, nd) -> {
            long[] l = b.labels().toLongArray();
            l[0] = 7;
            return new TokenBatch(b.inputIds(), null, b.attentionMask(), nd.create(l, b.labels().getShape()), null, null);
        });
        assertRefused(Head.SEQUENCE, "sequenceLabels holds 3, outside [0, 3)",
                (b, nd) -> b.withSequenceLabels(nd.create(new long[] {3, 0})));
        assertRefused(Head.SEQUENCE, "classification labels are integer classes",
                (b, nd) -> b.withSequenceLabels(nd.create(new float[] {1, 0})));
        assertRefused(Head.REGRESSION, "regression (numLabels = 1) needs float targets",
                (b, nd) -> b.withSequenceLabels(nd.create(new long[] {1, 0})));
        assertRefused(Head.SEQUENCE, "reads sequenceLabels [B]", (b, nd) -> new TokenBatch(b.inputIds(), null,
                b.attentionMask(), HeadTesting.batch(Kind.DISTILBERT, Head.TOKEN, nd).labels(), null, b.sequenceLabels()));
        assertRefused(Head.TOKEN, "reads per-token labels [B, T]",
                (b, nd) -> b.withSequenceLabels(nd.create(new long[] {1, 0})));
        assertRefused(Head.SEQUENCE, "has no next-sentence head", (b, nd) -> new TokenBatch(b.inputIds(), null,
                b.attentionMask(), null, nd.create(new long[] {0, 1}), b.sequenceLabels()));
    }

    @Test
    void aModelClassRefusesAConfigurationOfAnotherHead() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BertForPreTraining(
                HeadTesting.config(Kind.BERT, Head.SEQUENCE), ParallelContext.single()));
        assertTrue(e.getMessage().contains("has the PRETRAINING head, got a configuration with head SEQUENCE_CLASSIFICATION"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new SequenceClassifier(Kind.ROBERTA.config(),
                ParallelContext.single()));
        assertTrue(e.getMessage().contains("has the SEQUENCE_CLASSIFICATION head"), e.getMessage());
    }

    private interface Edit {
        TokenBatch apply(TokenBatch b, NDManager nd);
    }

    private static void assertRefused(Head head, String fragment, Edit edit) {
        TransformerModel m = TransformerModel.of(HeadTesting.config(Kind.DISTILBERT, head), ParallelContext.single());
        try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 5, nd);
             Tape tape = new Tape(nd, 1, true)) {
            TokenBatch bad = edit.apply(HeadTesting.batch(Kind.DISTILBERT, head, nd), nd);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.loss(tape, bad));
            assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
        }
    }
}
