package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.tessera.train.distill.bilstm.DistillFixture;
import io.tessera.train.finetune.FineTuneFixture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code tessera distill bilstm} (registered here beside the other commands, as {@code tessera distill}
 * will register it) distils a tiny teacher and prints the comparison; {@code tessera predict} runs the
 * student it exported as any sequence classifier, its dev accuracy the one distillation kept; bad
 * input exits 1 with the reason and writes nothing.
 */
class DistillBiLstmCommandTest {

    @TempDir
    static Path dir;
    private static Path teacher;
    private static Path train;
    private static Path dev;

    record Outcome(int code, String out, String err) {}

    @BeforeAll
    static void teacherAndFiles() throws Exception {
        teacher = DistillFixture.teacher(dir);
        train = FineTuneFixture.sentiment(dir.resolve("train.tsv"), 96, 21);
        dev = FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 48, 22);
    }

    static Outcome run(String... args) {
        CommandLine cl = Tessera.commandLine();
        cl.addSubcommand(new DistillBiLstmCommand());
        cl.setExecutionExceptionHandler(cl.getExecutionExceptionHandler()); // reach the command added after it
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int code = cl.execute(args);
            return new Outcome(code, captured.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(stdout);
        }
    }

    private static Outcome distill(Path out, Path teacherDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("bilstm", "--teacher", teacherDir.toString(), "--train", train.toString(), "--dev",
                dev.toString(), "--out", out.toString(), "--epochs", "3", "--augment-iterations", "2", "--embedding-dim", "8",
                "--hidden", "8", "--mlp", "8", "--batch", "16", "--lr", "1e-2", "--threads", "2"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void theDistilledStudentPredictsItsDevFileAsDistillationScoredIt() throws Exception {
        Path out = dir.resolve("distilled");
        Outcome d = distill(out, teacher);
        assertEquals(0, d.code(), d.out() + d.err());
        for (String f : List.of("epoch 1/3", "epoch 3/3", "best dev accuracy", "fewer parameters", "the throughput", "sentences/s")) {
            assertTrue(d.out().contains(f), "'" + f + "' in:\n" + d.out());
        }
        double best = 0;
        for (String row : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            best = Math.max(best, JsonParser.parseString(row).getAsJsonObject().get("accuracy").getAsDouble());
        }
        Path predictions = dir.resolve("predictions.txt");
        Outcome p = run("predict", "--model-dir", out.resolve("model").toString(), "--input", dev.toString(), "--output",
                predictions.toString(), "--batch", "7");
        assertEquals(0, p.code(), p.out() + p.err());
        List<String> labels = Files.readAllLines(predictions);
        assertEquals(48, labels.size());
        assertTrue(labels.stream().allMatch(l -> l.equals("0") || l.equals("1")), labels.toString());
        assertTrue(p.out().contains(String.format(Locale.ROOT, "accuracy %.4f", best)), "the kept model's dev accuracy " + best
                + " in:\n" + p.out());
    }

    @Test
    void aPretrainingTeacherExitsOneAndWritesNothing() throws Exception {
        Path out = dir.resolve("refused");
        Outcome d = distill(out, DistillFixture.pretrainingModel(dir));
        assertEquals(1, d.code(), d.out() + d.err());
        assertTrue(d.err().contains("pre-training model (BertForPreTraining)"), d.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void distillationWithoutATeacherNamesTheTwoWaysOut() {
        Outcome d = run("bilstm", "--train", train.toString(), "--dev", dev.toString(), "--out", dir.resolve("none").toString());
        assertEquals(1, d.code());
        assertTrue(d.err().contains("--teacher DIR") && d.err().contains("--no-distill"), d.err());
    }
}
