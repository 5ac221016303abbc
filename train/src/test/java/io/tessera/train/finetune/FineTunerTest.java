package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning end to end on tiny encoders and tasks with a learnable signal: the model learns, the
 * best dev model is a Hugging Face task directory with id2label and the tokenizer, metrics are
 * logged, and bad input fails before anything is written.
 */
class FineTunerTest {

    @Test
    void aSentimentClassifierLearnsAndItsBestDevModelIsExported(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("bert"), "bert-tiny");
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(model).setTask(FineTuneTask.SEQUENCE_CLASSIFICATION)
                .setTrain(FineTuneFixture.sentiment(dir.resolve("train.tsv"), 256, 1))
                .setDev(FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 64, 2)).setOut(dir.resolve("out"))
                .optEpochs(4).optLr(2e-3).optGlobalBatch(16).optMicroBatch(8).optMaxLength(16).build();
        FineTuner.Result r = FineTuneFixture.run(cfg).get(0);

        assertEquals(4, r.evaluations().size(), "one dev evaluation per epoch");
        double first = r.evaluations().get(0).metrics().get(TaskMetrics.ACCURACY);
        double best = r.best().metrics().get(TaskMetrics.ACCURACY);
        assertTrue(best >= 0.95, "the adjective decides the label; dev accuracy " + best + " (first epoch " + first + ")");
        assertTrue(r.losses().get(r.losses().size() - 1) < r.losses().get(0) - 0.1, "training loss " + r.losses());

        TransformerConfig exported = HfConfigJson.read(r.exported());
        assertEquals(HeadConfig.Task.SEQUENCE_CLASSIFICATION, exported.head().task());
        assertEquals(List.of("0", "1"), exported.head().labels());
        JsonObject json = JsonParser.parseString(Files.readString(r.exported().resolve("config.json"))).getAsJsonObject();
        assertEquals("BertForSequenceClassification", json.getAsJsonArray("architectures").get(0).getAsString());
        for (String f : List.of("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json")) {
            assertTrue(Files.isRegularFile(r.exported().resolve(f)), f + " beside the exported model");
        }
        List<String> rows = Files.readAllLines(dir.resolve("out/metrics.jsonl"), StandardCharsets.UTF_8);
        long evals = rows.stream().filter(l -> l.contains("\"type\":\"eval\"")).count();
        assertEquals(4, evals, "eval rows in metrics.jsonl");
        assertTrue(rows.stream().anyMatch(l -> l.contains("\"macro_f1\"")), "macro-F1 logged");
    }

    @Test
    void aTokenClassifierLearnsEntitiesScoredPerWord(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("distilbert"), "distilbert-tiny");
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(model).setTask(FineTuneTask.TOKEN_CLASSIFICATION)
                .setTrain(FineTuneFixture.entities(dir.resolve("train.txt"), 192, 3))
                .setDev(FineTuneFixture.entities(dir.resolve("dev.txt"), 48, 4)).setOut(dir.resolve("out"))
                .optEpochs(5).optLr(3e-3).optGlobalBatch(16).optMicroBatch(16).optMaxLength(16).build();
        FineTuner.Result r = FineTuneFixture.run(cfg).get(0);

        assertEquals(List.of("O", "B-LOC", "B-PER", "I-LOC", "I-PER"), r.labels().labels());
        double f1 = r.best().metrics().get(TaskMetrics.F1);
        assertTrue(f1 >= 0.9, "entity F1 " + f1 + " of " + r.best().metrics());
        assertTrue(r.best().metrics().containsKey("f1_PER") && r.best().metrics().containsKey("f1_LOC"), "per-type F1");
        assertEquals(HeadConfig.Task.TOKEN_CLASSIFICATION, HfConfigJson.read(r.exported()).head().task());
    }

    @Test
    void aLengthPastTheModelsPositionsIsRefusedBeforeWriting(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("bert"), "bert-tiny");
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(model).setTask(FineTuneTask.SEQUENCE_CLASSIFICATION)
                .setTrain(FineTuneFixture.sentiment(dir.resolve("train.tsv"), 32, 1))
                .setDev(FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 8, 2)).setOut(dir.resolve("out"))
                .optMaxLength(65).build();
        Exception e = assertThrows(RuntimeException.class, () -> FineTuneFixture.run(cfg));
        String message = rootMessage(e);
        assertTrue(message.contains("--max-length 65") && message.contains("64 positions"), message);
        assertFalse(Files.exists(dir.resolve("out")), "nothing written");
    }

    @Test
    void aModelDirectoryWithoutATokenizerIsRefused(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("bert"), "bert-tiny");
        Files.delete(model.resolve("vocab.txt"));
        Files.delete(model.resolve("tokenizer.json"));
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(model).setTask(FineTuneTask.SEQUENCE_CLASSIFICATION)
                .setTrain(FineTuneFixture.sentiment(dir.resolve("train.tsv"), 32, 1))
                .setDev(FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 8, 2)).setOut(dir.resolve("out")).build();
        String message = rootMessage(assertThrows(RuntimeException.class, () -> FineTuneFixture.run(cfg)));
        assertTrue(message.contains("has no tokenizer") && message.contains("vocab.txt"), message);
        assertFalse(Files.exists(dir.resolve("out")), "nothing written");
    }

    static String rootMessage(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
