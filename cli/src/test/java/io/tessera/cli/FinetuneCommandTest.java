package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.train.finetune.FineTuneFixture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code tessera finetune} and {@code tessera predict}: a fine-tuned model predicts its dev file as
 * well as fine-tuning scored it, on two processes at TP=2 as in one; bad input ends with exit code 1,
 * a message naming the value and a fix, and nothing written.
 */
class FinetuneCommandTest {

    @TempDir
    Path dir;

    Path model;
    Path train;
    Path dev;

    record Outcome(int code, String out, String err) {}

    @BeforeEach
    void files() throws Exception {
        model = FineTuneFixture.pretrained(dir.resolve("pretrained"), "bert-tiny");
        train = FineTuneFixture.sentiment(dir.resolve("train.tsv"), 128, 1);
        dev = FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 32, 2);
    }

    static Outcome run(String... args) {
        CommandLine cl = Tessera.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int code = cl.execute(args);
            return new Outcome(code, captured.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(stdout);
        }
    }

    Outcome finetune(String... extra) {
        List<String> args = new ArrayList<>(List.of("finetune", "--model-dir", model.toString(), "--task", "sequence-classification",
                "--train", train.toString(), "--dev", dev.toString(), "--epochs", "3", "--lr", "2e-3", "--global-batch", "16",
                "--max-length", "16"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    static void assertFails(Outcome o, String... fragments) {
        assertEquals(1, o.code(), o.out() + o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "expected '" + f + "' in: " + o.err());
        }
    }

    @Test
    void aModelFineTunedOnTwoProcessesPredictsItsDevFileAsScored() throws Exception {
        Path out = dir.resolve("out");
        Outcome tuned = finetune("--nproc", "2", "--tp", "2", "--out", out.toString(), "--plots");
        assertEquals(0, tuned.code(), tuned.out() + tuned.err());
        for (String png : List.of("loss.png", "dev-scores.png")) {
            assertTrue(Files.size(out.resolve(png)) > 1000, png + " drawn by --plots");
        }
        Path exported = out.resolve("model");
        assertTrue(Files.isRegularFile(exported.resolve("model.safetensors")) && Files.isRegularFile(exported.resolve("vocab.txt")));

        Path predictions = dir.resolve("predictions.txt");
        Outcome predicted = run("predict", "--model-dir", exported.toString(), "--input", dev.toString(), "--output",
                predictions.toString());
        assertEquals(0, predicted.code(), predicted.out() + predicted.err());
        List<String> labels = Files.readAllLines(predictions, StandardCharsets.UTF_8);
        List<String> gold = Files.readAllLines(dev, StandardCharsets.UTF_8).subList(1, 33).stream().map(l -> l.split("\t")[1]).toList();
        assertEquals(32, labels.size());
        long right = 0;
        for (int i = 0; i < 32; i++) {
            right += labels.get(i).equals(gold.get(i)) ? 1 : 0;
        }
        double best = bestAccuracy(out.resolve("metrics.jsonl"));
        assertEquals(best, right / 32.0, 1e-9, "predict's accuracy on dev equals the best dev accuracy fine-tuning logged");
        assertTrue(predicted.out().contains(String.format(java.util.Locale.ROOT, "accuracy %.4f", right / 32.0)), predicted.out());
    }

    private static double bestAccuracy(Path metrics) throws Exception {
        double best = -1;
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.contains("\"type\":\"eval\"")) {
                best = Math.max(best, com.google.gson.JsonParser.parseString(line).getAsJsonObject().get("accuracy").getAsDouble());
            }
        }
        return best;
    }

    @Test
    void aTrainingFileWithoutItsLabelColumnOrEmptyIsRefused() throws Exception {
        Path out = dir.resolve("out");
        Path noLabel = dir.resolve("nolabel.tsv");
        Files.writeString(noLabel, "sentence\nthe film is good .\n");
        assertFails(finetune("--train", noLabel.toString(), "--out", out.toString()), "no 'label' column");
        Path empty = dir.resolve("empty.tsv");
        Files.writeString(empty, "");
        assertFails(finetune("--train", empty.toString(), "--out", out.toString()), "is empty");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aConllLineWithoutATagIsRefused() throws Exception {
        Path out = dir.resolve("out");
        Path bad = dir.resolve("bad.txt");
        Files.writeString(bad, "John B-PER\nmet\nMary B-PER\n");
        assertFails(run("finetune", "--model-dir", model.toString(), "--task", "token-classification", "--train", bad.toString(),
                "--dev", bad.toString(), "--out", out.toString()), "line 2", "'met' has a word but no tag");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aModelDirectoryWithoutTokenizerAndALengthPastThePositionsAreRefused() throws Exception {
        Path out = dir.resolve("out");
        assertFails(finetune("--max-length", "100", "--out", out.toString()), "--max-length 100", "64 positions", "--max-length 64");
        Files.delete(model.resolve("vocab.txt"));
        Files.delete(model.resolve("tokenizer.json"));
        assertFails(finetune("--out", out.toString()), "has no tokenizer", "vocab.txt");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void predictRefusesUnseenLabelsAPretrainingModelAndAnEmptyInput() throws Exception {
        Path out = dir.resolve("out");
        assertEquals(0, finetune("--epochs", "1", "--out", out.toString()).code());
        Path exported = out.resolve("model");
        Path predictions = dir.resolve("p.txt");
        Path unseen = dir.resolve("unseen.tsv");
        Files.writeString(unseen, "sentence\tlabel\nthe film is good .\t1\nthe plot is dull .\tneutral\n");
        assertFails(run("predict", "--model-dir", exported.toString(), "--input", unseen.toString(), "--output", predictions.toString()),
                "line 3", "label 'neutral' is not one of the model's labels [0, 1]");
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        assertFails(run("predict", "--model-dir", exported.toString(), "--input", empty.toString(), "--output", predictions.toString()),
                "is empty");
        assertFails(run("predict", "--model-dir", model.toString(), "--input", dev.toString(), "--output", predictions.toString()),
                "pre-training model", "fine-tune it first");
        assertFalse(Files.exists(predictions), "nothing written");
    }
}
