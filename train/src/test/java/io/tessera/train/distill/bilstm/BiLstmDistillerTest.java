package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.parallel.tensor.TpTesting;
import io.tessera.train.finetune.FineTuneFixture;
import io.tessera.train.finetune.FineTuneTask;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny end-to-end distillation (a bert-tiny teacher fine-tuned on a synthetic sentiment task whose
 * adjective decides the label) learns well above chance, and so does the baseline; every bad input
 * is refused with its reason and leaves no output behind.
 */
class BiLstmDistillerTest {

    @TempDir
    static Path shared;
    private static Path teacher;
    private static Path train;
    private static Path dev;

    @BeforeAll
    static void fineTuneTheTeacher() throws Exception {
        teacher = DistillFixture.teacher(shared);
        train = FineTuneFixture.sentiment(shared.resolve("train.tsv"), 96, 11);
        dev = FineTuneFixture.sentiment(shared.resolve("dev.tsv"), 64, 12);
    }

    private static BiLstmDistillConfig.Builder tiny(Path out) {
        return BiLstmDistillConfig.builder().optTeacher(teacher).setTrain(train).setDev(dev).setOut(out).optEmbeddingDim(8)
                .optHiddenSize(8).optMlpSize(8).optEpochs(4).optBatchSize(16).optLr(1e-2).optAugmentation(new Augmentation(0.1, 0.1, 0.25, 3));
    }

    private static BiLstmDistiller.Result run(BiLstmDistillConfig cfg, ByteArrayOutputStream log) throws Exception {
        return new BiLstmDistiller(cfg, new PrintStream(log, true, StandardCharsets.UTF_8), Compute.ofProcess()).run();
    }

    @Test
    void aDistilledStudentLearnsAndIsComparedWithItsTeacher(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BiLstmDistiller.Result r = run(tiny(dir.resolve("out")).build(), log);
        String text = log.toString(StandardCharsets.UTF_8);
        assertEquals(4, r.epochs().size(), text);
        assertTrue(r.best().devAccuracy() >= 0.8, "chance is 0.5; best dev accuracy " + r.best().devAccuracy() + "\n" + text);
        assertTrue(r.transferSize() > 96 && r.transferSize() <= 96 * 4, "originals + up to 3 distinct copies each: " + r.transferSize());
        assertTrue(r.teacherParameters() > r.studentParameters() && r.studentParameters() > 0, r.toString());
        assertTrue(r.studentSentencesPerSecond() > 0 && r.teacherSentencesPerSecond() > 0, r.toString());
        assertTrue(r.teacherDevAccuracy() >= 0.9, "the fine-tuned teacher has learnt the task: " + r.teacherDevAccuracy());
        List<String> rows = Files.readAllLines(dir.resolve("out/metrics.jsonl"), StandardCharsets.UTF_8);
        assertEquals(4, rows.size());
        JsonObject last = JsonParser.parseString(rows.get(3)).getAsJsonObject();
        assertEquals(r.epochs().get(3).devAccuracy(), last.get("accuracy").getAsDouble(), 1e-12);
        assertTrue(text.contains("best dev accuracy") && text.contains("fewer parameters") && text.contains("the throughput"), text);
        assertTrue(BiLstmStudent.isStudent(r.exported()));
    }

    @Test
    void theGoldLabelBaselineTrainsTheSameStudentOnTheTrainingSetOnly(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BiLstmDistiller.Result r = run(tiny(dir.resolve("out")).optTeacher(null).optDistill(false).optEpochs(6).build(), log);
        assertEquals(96, r.transferSize(), "no augmentation without a teacher to label it");
        assertTrue(r.best().devAccuracy() >= 0.7, "chance is 0.5; " + r.best().devAccuracy() + "\n" + log);
        assertEquals(-1, r.teacherParameters());
    }

    @Test
    void teacherLogitsBatchedByLengthComeBackInTheGivenOrder() throws Exception {
        List<String> texts = List.of("the film is very very good .", "bad", "a plot was dull .", "[MASK] good", "the cast is great .");
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false);
             Teacher t = Teacher.load(teacher, m, Compute.ofProcess(), 2)) {
            List<float[]> plain = t.logits(texts, false);
            List<float[]> byLength = t.logits(texts, true);
            for (int i = 0; i < texts.size(); i++) {
                TpTesting.assertClose(plain.get(i), byLength.get(i), 1e-5, texts.get(i));
            }
            assertEquals(List.of("0", "1"), t.labels().labels());
        }
    }

    @Test
    void aPretrainingExportIsRefusedAsATeacher(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path model = DistillFixture.pretrainingModel(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(tiny(out).optTeacher(model).build(),
                new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("pre-training model (BertForPreTraining)") && e.getMessage().contains("tessera finetune"),
                e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aTokenClassifierIsRefusedAsATeacher(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path tokens = DistillFixture.withHead(teacher, dir.resolve("ner"), FineTuneTask.TOKEN_CLASSIFICATION, List.of("O", "B-PER"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(tiny(out).optTeacher(tokens).build(),
                new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("token classifier (BertForTokenClassification)")
                && e.getMessage().contains("--task sequence-classification"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aTeacherWithOtherLabelsThanTheTrainingFileIsRefused(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path other = DistillFixture.withHead(teacher, dir.resolve("other"), FineTuneTask.SEQUENCE_CLASSIFICATION, List.of("neg", "pos"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(tiny(out).optTeacher(other).build(),
                new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("has the labels [neg, pos]") && e.getMessage().contains("has [0, 1]"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void anEmptyTrainingFileIsRefused(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path empty = Files.writeString(dir.resolve("empty.tsv"), "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(tiny(out).setTrain(empty).build(),
                new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("--train " + empty + " is empty"), e.getMessage());
        Path header = Files.writeString(dir.resolve("header.tsv"), "sentence\tlabel\n");
        e = assertThrows(IllegalArgumentException.class, () -> run(tiny(out).setTrain(header).build(), new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("has a header but no rows"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }
}
