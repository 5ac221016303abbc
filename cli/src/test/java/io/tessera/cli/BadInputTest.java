package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import io.tessera.core.Devices;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Bad input to {@code tessera pretrain} ends with a clear message, exit code 1 and nothing written. */
class BadInputTest {

    @TempDir
    Path dir;

    record Outcome(int code, String err) {}

    static Path data() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("data/wikitext-2"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("data/wikitext-2 not found");
        }
        return p.resolve("data/wikitext-2");
    }

    Outcome pretrain(String... extra) {
        List<String> args = new ArrayList<>(List.of("pretrain", "--nproc", "2", "--data", data().toString(), "--steps", "10",
                "--warmup", "2"));
        args.addAll(List.of(extra));
        CommandLine cl = Tessera.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args.toArray(String[]::new));
        return new Outcome(code, err.toString());
    }

    void assertFails(Outcome o, String... fragments) {
        assertEquals(1, o.code(), o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "expected '" + f + "' in: " + o.err());
        }
    }

    @Test
    void missingOrEmptyCorpus() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("corpus"));
        Path out = dir.resolve("out");
        assertFails(pretrain("--data", empty.toString(), "--out", out.toString()), "valid.txt is missing", "data/wikitext-2");
        Files.writeString(empty.resolve("valid.txt"), "");
        Files.writeString(empty.resolve("test.txt"), "");
        assertFails(pretrain("--data", empty.toString(), "--out", out.toString()), "is empty");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void vocabularyWithoutSpecialTokens() throws IOException {
        Path vocab = dir.resolve("vocab.txt");
        Files.writeString(vocab, "[PAD]\nthe\nof\n##s\n");
        Path out = dir.resolve("out");
        assertFails(pretrain("--vocab", vocab.toString(), "--out", out.toString()), "[UNK]", "[MASK]", "vocab.txt");
        assertFalse(Files.exists(out));
    }

    @Test
    void tensorParallelDegreeThatDoesNotDivideTheHeads() {
        assertFails(pretrain("--nproc", "4", "--tp", "4", "--out", dir.resolve("out").toString()), "--tp 4", "2");
    }

    @Test
    void globalBatchNotDivisibleByMicroBatchTimesDataParallel() {
        assertFails(pretrain("--tp", "1", "--global-batch", "30", "--micro-batch", "4", "--out", dir.resolve("out").toString()),
                "--global-batch 30", "--micro-batch 4", "data-parallel 2");
    }

    @Test
    void unwritableOutputFolder() throws IOException {
        Path locked = Files.createDirectories(dir.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            if (Files.isWritable(locked)) {
                // Running as root: permissions do not stop writes, so use a path under a regular file instead.
                Path file = Files.writeString(dir.resolve("plain-file"), "x");
                assertFails(pretrain("--out", file.resolve("run").toString()), "not writable");
            } else {
                assertFails(pretrain("--out", locked.resolve("run").toString()), "not writable");
            }
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void bf16IsRefusedWithTheReasonAndAnAlternative() {
        Path out = dir.resolve("out");
        assertFails(pretrain("--precision", "bf16", "--out", out.toString()), "--precision bf16", "DJL 0.35.1",
                "--precision fp16");
        assertFails(pretrain("--precision", "half", "--out", out.toString()), "--precision half", "fp32", "fp16");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void deviceRequestsThatCannotBeMetFailBeforeAnyRankStarts() {
        Path out = dir.resolve("out");
        assertFails(pretrain("--device", "tpu", "--out", out.toString()), "--device tpu", "cpu", "cuda:N");
        Assumptions.assumeTrue(Devices.usableGpus() == 0, "this host has a usable GPU; the no-GPU message cannot be checked here");
        assertFails(pretrain("--device", "cuda", "--out", out.toString()), "--device cuda", "--device cpu");
        assertFails(pretrain("--device", "cuda:0", "--out", out.toString()), "--device cuda:0", "--device cpu");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void modelOfTheOtherFamily() {
        List<String> args = List.of("pretrain-gpt2", "--nproc", "2", "--model", "bert-tiny", "--data", data().toString(),
                "--out", dir.resolve("out").toString(), "--steps", "10", "--warmup", "2");
        CommandLine cl = Tessera.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertFails(new Outcome(cl.execute(args.toArray(String[]::new)), err.toString()), "bert-tiny", "BERT", "pretrain-gpt2");
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void existingOutputWithoutResumeOrOverwrite() throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("metrics.jsonl"), "{}\n");
        assertFails(pretrain("--out", out.toString()), "already exists", "--resume", "--overwrite");
        assertEquals("{}\n", Files.readString(out.resolve("metrics.jsonl")), "the earlier run is untouched");
    }
}
