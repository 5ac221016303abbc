package io.tessera.train.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.LossTerms;
import io.tessera.models.MaskedLmOutput;
import io.tessera.models.TokenBatch;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.distilbert.DistilBertForMaskedLM;
import io.tessera.parallel.ParallelContext;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each term of DistilBERT's loss against a plain double-precision computation from the two models' raw
 * outputs, and the teacher's freedom from gradients.
 */
class DistillationObjectiveTest {

    @TempDir
    Path dir;

    @Test
    void eachTermEqualsAnIndependentComputation() throws Exception {
        Path teacherDir = DistillFixture.teacher(dir.resolve("teacher"), 4);
        Path studentDir = dir.resolve("student");
        DistillationLoss weights = new DistillationLoss(5, 2, 1, 2);
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            DistilBertStudent.write(teacherDir, studentDir, 2, m);
            BertForPreTraining teacher = new BertForPreTraining(HfConfigJson.read(teacherDir), ParallelContext.single());
            DistilBertForMaskedLM student = new DistilBertForMaskedLM(HfConfigJson.read(studentDir), ParallelContext.single());
            try (ParameterBuffer tb = ParameterBuffer.allocate(teacher, 1, m, false);
                 ParameterBuffer sb = ParameterBuffer.allocate(student, 2, m)) {
                HfCheckpoint.load(teacher, teacherDir);
                // A student unlike its teacher (random weights), so that every term is far from its optimum.
                int vocab = teacher.config().vocabSize();
                TokenBatch batch = DistillFixture.batch(m, 3, 8, vocab, 3, 5);
                int[] ids = batch.inputIds().toType(ai.djl.ndarray.types.DataType.INT32, false).toIntArray();
                int[] labels = batch.labels().toType(ai.djl.ndarray.types.DataType.INT32, false).toIntArray();
                int[] mask = batch.attentionMask().toType(ai.djl.ndarray.types.DataType.INT32, false).toIntArray();

                float[] tHidden;
                float[] tLogits;
                float[] sHidden;
                float[] sLogits;
                try (Tape tape = new Tape(m, 0, false, false)) {
                    MaskedLmOutput t = teacher.maskedLm(tape, batch);
                    MaskedLmOutput s = student.maskedLm(tape, batch);
                    tHidden = t.sequenceOutput().value().toFloatArray();
                    tLogits = teacher.gatherVocabLogits(tape, "t", t.logits()).value().toFloatArray();
                    sHidden = s.sequenceOutput().value().toFloatArray();
                    sLogits = student.gatherVocabLogits(tape, "s", s.logits()).value().toFloatArray();
                }
                int c = teacher.config().hiddenSize();
                double temp = weights.temperature();
                double ce = 0;
                double mlm = 0;
                double cos = 0;
                long masked = 0;
                long attended = 0;
                for (int p = 0; p < ids.length; p++) {
                    if (mask[p] == 1) {
                        double dot = 0;
                        double ns = 0;
                        double nt = 0;
                        for (int k = 0; k < c; k++) {
                            dot += (double) sHidden[p * c + k] * tHidden[p * c + k];
                            ns += (double) sHidden[p * c + k] * sHidden[p * c + k];
                            nt += (double) tHidden[p * c + k] * tHidden[p * c + k];
                        }
                        cos += 1 - dot / Math.sqrt(ns * nt);
                        attended++;
                    }
                    if (labels[p] != -100) {
                        double[] pt = softmax(tLogits, p * vocab, vocab, temp);
                        double[] qs = softmax(sLogits, p * vocab, vocab, temp);
                        double[] q1 = softmax(sLogits, p * vocab, vocab, 1);
                        for (int v = 0; v < vocab; v++) {
                            ce -= temp * temp * pt[v] * Math.log(qs[v]);
                        }
                        mlm -= Math.log(q1[labels[p]]);
                        masked++;
                    }
                }
                assertTrue(masked > 2 && attended == 3 * 8 - 3, masked + " masked, " + attended + " attended");

                try (Tape tape = new Tape(m, 3, true)) {
                    DistillationObjective objective = new DistillationObjective(student, teacher, weights);
                    Map<String, Long> counts = objective.labelCounts(batch);
                    assertEquals(Map.of("ce", masked, "mlm", masked, "cos", attended), counts);
                    LossTerms terms = objective.lossTerms(tape, batch);
                    assertEquals(java.util.List.of("ce", "mlm", "cos"), terms.names());
                    LossTerms.Term tce = terms.terms().get(0);
                    LossTerms.Term tmlm = terms.terms().get(1);
                    LossTerms.Term tcos = terms.terms().get(2);
                    assertEquals(ce, tce.sum().value().getFloat(), 1e-5 * Math.abs(ce), "soft-target cross-entropy");
                    assertEquals(mlm, tmlm.sum().value().getFloat(), 1e-5 * Math.abs(mlm), "masked-LM cross-entropy");
                    assertEquals(cos, tcos.sum().value().getFloat(), 1e-5 * Math.abs(cos) + 1e-6, "cosine loss");
                    assertEquals(5, tce.weight());
                    assertEquals(2, tmlm.weight());
                    assertEquals(1, tcos.weight());
                    assertTrue(ce > 0 && mlm > 0 && cos > 0.01, ce + " " + mlm + " " + cos);

                    // Backward reaches the student's parameters and nothing of the teacher's.
                    tape.backward(tape.apply1("total", false, (ctx, in) -> new ai.djl.ndarray.NDList(
                            in.get(0).add(in.get(1)).add(in.get(2))), tce.sum(), tmlm.sum(), tcos.sum()));
                }
                assertTrue(sb.grads().abs().sum().getFloat() > 0, "the student receives gradients");
                assertFalse(tb.hasGradients(), "the teacher holds no gradient buffer");
                for (Parameter p : tb.list()) {
                    assertFalse(p.data().hasGradient(), "teacher parameter " + p + " holds no gradient");
                }
            }
        }
    }

    @Test
    void refusesAMismatchedTeacher() throws Exception {
        Path teacherDir = DistillFixture.teacher(dir.resolve("teacher"), 2);
        TransformerConfig tc = HfConfigJson.read(teacherDir);
        try (NDManager m = NDManager.newBaseManager()) {
            DistilBertStudent.write(teacherDir, dir.resolve("student"), 1, m);
        }
        TransformerConfig sc = HfConfigJson.read(dir.resolve("student"));
        DistilBertForMaskedLM student = new DistilBertForMaskedLM(sc, ParallelContext.single());
        BertForPreTraining wider = new BertForPreTraining(tc.toBuilder().setHiddenSize(64).optIntermediateSize(64).build(), ParallelContext.single());
        String msg = assertThrows(IllegalArgumentException.class, () -> new DistillationObjective(student, wider, DistillationLoss.PAPER)).getMessage();
        assertTrue(msg.contains("hidden size is 64") && msg.contains("one width"), msg);
        BertForPreTraining otherVocab = new BertForPreTraining(tc.toBuilder().setVocabSize(tc.vocabSize() + 7).build(), ParallelContext.single());
        msg = assertThrows(IllegalArgumentException.class, () -> new DistillationObjective(student, otherVocab, DistillationLoss.PAPER)).getMessage();
        assertTrue(msg.contains("vocabulary has " + (tc.vocabSize() + 7)) && msg.contains("teacher's vocab.txt"), msg);
        assertNotNull(DistillationLoss.PAPER.toString());
        msg = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(0, 0, 0, 2)).getMessage();
        assertTrue(msg.contains("all 0"), msg);
        msg = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(5, 2, 1, 0)).getMessage();
        assertTrue(msg.contains("--temperature 0.0"), msg);
        msg = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(-1, 2, 1, 2)).getMessage();
        assertTrue(msg.contains("--alpha-ce -1.0"), msg);
    }

    private static double[] softmax(float[] logits, int offset, int n, double temp) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < n; v++) {
            max = Math.max(max, logits[offset + v] / temp);
        }
        double z = 0;
        double[] out = new double[n];
        for (int v = 0; v < n; v++) {
            out[v] = Math.exp(logits[offset + v] / temp - max);
            z += out[v];
        }
        for (int v = 0; v < n; v++) {
            out[v] /= z;
        }
        return out;
    }
}
