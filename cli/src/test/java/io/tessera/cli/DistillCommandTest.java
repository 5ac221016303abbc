package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.train.finetune.FineTuneFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera distill distilbert}: distils on two processes at TP=2 into an exported DistilBERT student;
 * bad input ends with exit code 1, a message naming the value and a fix, and nothing written.
 */
class DistillCommandTest {

    @TempDir
    Path dir;

    Path teacher;

    @BeforeEach
    void teacher() throws Exception {
        teacher = FineTuneFixture.pretrained(dir.resolve("teacher"), "bert-tiny");
    }

    FinetuneCommandTest.Outcome distil(String... extra) {
        List<String> args = new ArrayList<>(List.of("distill", "distilbert", "--teacher", teacher.toString(), "--data",
                BadInputTest.data().toString(), "--steps", "2", "--global-batch", "4", "--micro-batch", "2", "--seq-length", "16"));
        args.addAll(List.of(extra));
        return FinetuneCommandTest.run(args.toArray(String[]::new));
    }

    @Test
    void distilsOnTwoProcessesIntoAnExportedStudent() throws Exception {
        Path out = dir.resolve("out");
        FinetuneCommandTest.Outcome o = distil("--nproc", "2", "--tp", "2", "--out", out.toString());
        assertEquals(0, o.code(), o.out() + o.err());
        TransformerConfig student = HfConfigJson.read(out.resolve("model"));
        assertEquals(Architecture.DISTILBERT, student.architecture());
        assertEquals(1, student.numLayers(), "half of bert-tiny's 2 layers");
        assertTrue(Files.isRegularFile(out.resolve("student-init/model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("model/vocab.txt")), "the student carries the teacher's tokenizer");
        assertEquals(Files.readString(teacher.resolve("vocab.txt")), Files.readString(out.resolve("model/vocab.txt")));
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"ce_loss\"") && metrics.contains("\"cos_loss\""), metrics);
    }

    @Test
    void badInputGetsOneClearErrorAndWritesNothing() throws Exception {
        Path out = dir.resolve("bad");
        FinetuneCommandTest.assertFails(distil("--student-layers", "3", "--out", out.toString()),
                "--student-layers 3", "1 to 2");
        FinetuneCommandTest.assertFails(distil("--model", "bert-mini", "--out", out.toString()),
                "--model does not apply", "drop --model");
        FinetuneCommandTest.assertFails(distil("--alpha-ce", "-1", "--out", out.toString()), "--alpha-ce -1.0", ">= 0");
        // A fine-tuned classifier has no masked-LM head to give soft targets.
        Path classifier = dir.resolve("classifier");
        Files.createDirectories(classifier);
        for (String f : List.of("vocab.txt", "tokenizer_config.json", "model.safetensors")) {
            Files.copy(teacher.resolve(f), classifier.resolve(f));
        }
        TransformerConfig tc = HfConfigJson.read(teacher);
        HfConfigJson.write(tc.toBuilder().optHead(io.tessera.models.config.HeadConfig.sequenceClassification(List.of("neg", "pos"))).build(),
                classifier.resolve("config.json"));
        FinetuneCommandTest.Outcome o = FinetuneCommandTest.run("distill", "distilbert", "--teacher", classifier.toString(),
                "--data", BadInputTest.data().toString(), "--out", out.toString());
        FinetuneCommandTest.assertFails(o, "SEQUENCE_CLASSIFICATION head", "pre-training export");
        // A student of another vocabulary.
        Path student = dir.resolve("student");
        FineTuneFixture.pretrained(student, "distilbert-tiny");
        Files.writeString(student.resolve("vocab.txt"), Files.readString(student.resolve("vocab.txt")).replace("good", "goodish"));
        FinetuneCommandTest.assertFails(distil("--student", student.toString(), "--out", out.toString()),
                "different vocabularies", "vocab.txt files differ");
        FinetuneCommandTest.assertFails(FinetuneCommandTest.run("distill", "distilbert", "--teacher", dir.resolve("none").toString(),
                "--out", out.toString()), "has no config.json");
        assertFalse(Files.exists(out), "nothing written");
    }
}
