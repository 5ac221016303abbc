package io.tessera.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.MaskedLmOutput;
import io.tessera.models.TokenBatch;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.distilbert.DistilBertForMaskedLM;
import io.tessera.parallel.ParallelContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistilBertStudentTest {

    @TempDir
    Path dir;

    @Test
    void theStudentHoldsExactlyTheTeachersEvenLayers() throws Exception {
        Path teacher = DistillFixture.teacher(dir.resolve("teacher"), 4);
        Path student = dir.resolve("student");
        try (NDManager m = NDManager.newBaseManager()) {
            TransformerConfig sc = DistilBertStudent.write(teacher, student, 2, m);
            assertEquals(Architecture.DISTILBERT, sc.architecture());
            assertEquals(2, sc.numLayers());
            assertEquals(HfConfigJson.read(student), sc);
            Map<String, NDArray> t = Safetensors.load(teacher.resolve(HfCheckpoint.WEIGHTS_FILE), m);
            Map<String, NDArray> s = Safetensors.load(student.resolve(HfCheckpoint.WEIGHTS_FILE), m);
            String[][] pairs = {{"attention.self.query", "attention.q_lin"}, {"attention.self.key", "attention.k_lin"},
                    {"attention.self.value", "attention.v_lin"}, {"attention.output.dense", "attention.out_lin"},
                    {"attention.output.LayerNorm", "sa_layer_norm"}, {"intermediate.dense", "ffn.lin1"}, {"output.dense", "ffn.lin2"},
                    {"output.LayerNorm", "output_layer_norm"}};
            int checked = 0;
            for (int j = 0; j < 2; j++) {
                for (String[] p : pairs) {
                    for (String w : new String[] {"weight", "bias"}) {
                        NDArray from = t.get("bert.encoder.layer." + (2 * j) + "." + p[0] + "." + w);
                        NDArray to = s.get("distilbert.transformer.layer." + j + "." + p[1] + "." + w);
                        assertArrayEquals(from.toFloatArray(), to.toFloatArray(), "student layer " + j + " " + p[1] + "." + w
                                + " is teacher layer " + (2 * j) + " " + p[0] + "." + w);
                        checked++;
                    }
                }
            }
            assertEquals(32, checked);
            assertArrayEquals(t.get("bert.embeddings.word_embeddings.weight").toFloatArray(),
                    s.get("distilbert.embeddings.word_embeddings.weight").toFloatArray());
            NDArray folded = t.get("bert.embeddings.position_embeddings.weight").add(t.get("bert.embeddings.token_type_embeddings.weight").get(0));
            assertArrayEquals(folded.toFloatArray(), s.get("distilbert.embeddings.position_embeddings.weight").toFloatArray(),
                    "positions carry segment 0's embedding");
            assertTrue(t.get("bert.embeddings.token_type_embeddings.weight").get(0).abs().sum().getFloat() > 0, "the fold is not vacuous");
            assertArrayEquals(t.get("cls.predictions.transform.dense.weight").toFloatArray(), s.get("vocab_transform.weight").toFloatArray());
            assertArrayEquals(t.get("cls.predictions.bias").toFloatArray(), s.get("vocab_projector.bias").toFloatArray());
            assertEquals(4 + 2 * 16 + 5, s.size(), "embeddings (word, position, LayerNorm ×2), 16 tensors per layer, the head's 5: "
                    + s.keySet());
            assertTrue(Files.isRegularFile(student.resolve("vocab.txt")) && Files.isRegularFile(student.resolve("tokenizer_config.json")));
        }
        assertArrayEquals(new int[] {0, 2}, DistilBertStudent.sourceLayers(4, 2));
        assertArrayEquals(new int[] {0, 2, 4, 7, 9}, DistilBertStudent.sourceLayers(12, 5));
        assertArrayEquals(new int[] {0, 1, 2}, DistilBertStudent.sourceLayers(3, 3));
    }

    /** With all the teacher's layers the student computes the teacher's function on single-segment input. */
    @Test
    void aFullDepthStudentComputesTheTeachersHiddenStatesAndLogits() throws Exception {
        Path teacherDir = DistillFixture.teacher(dir.resolve("teacher"), 2);
        Path studentDir = dir.resolve("student");
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            DistilBertStudent.write(teacherDir, studentDir, 2, m);
            BertForPreTraining teacher = new BertForPreTraining(HfConfigJson.read(teacherDir), ParallelContext.single());
            DistilBertForMaskedLM student = new DistilBertForMaskedLM(HfConfigJson.read(studentDir), ParallelContext.single());
            try (ParameterBuffer tb = ParameterBuffer.allocate(teacher, 1, m, false);
                 ParameterBuffer sb = ParameterBuffer.allocate(student, 2, m, false)) {
                HfCheckpoint.load(teacher, teacherDir);
                HfCheckpoint.load(student, studentDir);
                TokenBatch batch = DistillFixture.batch(m, 3, 9, teacher.config().vocabSize(), 3, 7);
                try (Tape tape = new Tape(m, 0, false, false)) {
                    MaskedLmOutput t = teacher.maskedLm(tape, batch);
                    MaskedLmOutput s = student.maskedLm(tape, batch);
                    assertClose(t.sequenceOutput().value(), s.sequenceOutput().value(), "hidden states");
                    assertClose(t.logits().value(), s.logits().value(), "masked-LM logits");
                    assertEquals(t.loss().value().getFloat(), s.loss().value().getFloat(), 1e-5, "masked-LM loss");
                }
            }
        }
    }

    @Test
    void refusesStudentsItCannotBuild() throws Exception {
        Path teacher = DistillFixture.teacher(dir.resolve("teacher"), 4);
        TransformerConfig tc = HfConfigJson.read(teacher);
        String m = assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.config(tc, 5)).getMessage();
        assertTrue(m.contains("--student-layers 5") && m.contains("1 to 4") && m.contains("half, 2"), m);
        assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.config(tc, 0));
        TransformerConfig classifier = tc.toBuilder().optHead(HeadConfig.sequenceClassification(java.util.List.of("neg", "pos"))).build();
        m = assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.config(classifier, 2)).getMessage();
        assertTrue(m.contains("SEQUENCE_CLASSIFICATION head") && m.contains("pre-training export"), m);
        TransformerConfig preLn = tc.toBuilder().optPreLayerNorm(true).build();
        m = assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.config(preLn, 2)).getMessage();
        assertTrue(m.contains("pre-LN"), m);
        Files.delete(teacher.resolve("vocab.txt"));
        m = assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.readTeacher(teacher)).getMessage();
        assertTrue(m.contains("has no vocab.txt"), m);
        m = assertThrows(IllegalArgumentException.class, () -> DistilBertStudent.readTeacher(dir.resolve("nowhere"))).getMessage();
        assertTrue(m.contains("has no config.json"), m);
    }

    static void assertClose(NDArray expected, NDArray actual, String what) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), what + " shape");
        float scale = Math.max(expected.abs().max().getFloat(), 1e-6f);
        float diff = expected.sub(actual).abs().max().getFloat();
        assertTrue(diff / scale < 1e-5, what + " differ by " + diff + " (relative " + diff / scale + ")");
    }
}
