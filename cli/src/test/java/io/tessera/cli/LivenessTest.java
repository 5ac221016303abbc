package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tessera.parallel.launch.LocalLauncher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * No orphans and liveness apart from collectives, end to end: {@code tessera pretrain --nproc 2} runs
 * as its own process (the launcher) with two rank JVMs under it, training a tiny model for far more
 * steps than the test waits; each test signals a process and checks what is left within a deadline.
 * The collective timeout stays at its default (300 s), so only the heartbeat can find a frozen rank
 * in time. Linux only (signals by {@code kill}, ranks told apart by {@code /proc/<pid>/environ}).
 */
class LivenessTest {

    /** Generous: two rank JVMs load libtorch and build a vocabulary on a shared machine. */
    private static final long START_S = 180;

    @TempDir
    Path dir;

    private final List<ProcessHandle> ranks = new ArrayList<>();
    private Process launcher;
    private Path log;

    @BeforeEach
    void linux() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux signals and /proc");
    }

    @Test
    @Timeout(300)
    void sigtermToTheLauncherStopsEveryRankWithin10Seconds() throws Exception {
        try {
            start();
            long t0 = System.nanoTime();
            launcher.destroy();
            awaitGone(10, t0);
            assertTrue(launcher.waitFor(1, TimeUnit.SECONDS), "launcher still running");
            assertTrue(output().contains("[launcher] received SIGTERM or SIGINT; stopping 2 rank(s) (the last complete checkpoint in"),
                    output());
        } finally {
            cleanUp();
        }
    }

    @Test
    @Timeout(300)
    void ranksStopByThemselvesWithin30SecondsWhenTheLauncherIsKilled() throws Exception {
        try {
            start();
            long t0 = System.nanoTime();
            launcher.destroyForcibly();
            awaitGone(30, t0);
        } finally {
            cleanUp();
        }
    }

    @ParameterizedTest(name = "rank {0} stopped")
    @ValueSource(ints = {1, 0})
    @Timeout(300)
    void aStoppedRankFailsTheJobWithin30SecondsWithTheDefaultTimeout(int stopped) throws Exception {
        try {
            start();
            ProcessHandle victim = ranks.stream().filter(p -> rankOf(p) == stopped).findFirst()
                    .orElseThrow(() -> new AssertionError("no rank " + stopped + " among " + ranks));
            long t0 = System.nanoTime();
            signal("STOP", victim);
            if (!launcher.waitFor(30, TimeUnit.SECONDS)) {
                fail("launcher still running 30 s after SIGSTOP of rank " + stopped + ":\n" + output() + threadDumps(victim));
            }
            System.out.printf("rank %d stopped: the launcher exited after %.1f s%n", stopped, (System.nanoTime() - t0) / 1e9);
            assertNotEquals(0, launcher.exitValue(), output());
            String expected = stopped == 0 ? "the store's host, rank 0, has answered no heartbeat for"
                    : "rank 1 has sent no heartbeat for";
            assertTrue(output().contains(expected), "expected '" + expected + "' in:\n" + output());
            awaitGone(5, System.nanoTime());
        } finally {
            cleanUp();
        }
    }

    /** A pipeline job (two stages): a stopped stage fails the job as a stopped tensor- or data-parallel rank does. */
    @Test
    @Timeout(300)
    void aStoppedPipelineStageFailsTheJobNamingIt() throws Exception {
        try {
            start("--pp", "2");
            ProcessHandle victim = ranks.stream().filter(p -> rankOf(p) == 1).findFirst()
                    .orElseThrow(() -> new AssertionError("no rank 1 among " + ranks));
            assertTrue(output().contains("pp 2 (1f1b)"), "the job runs in two pipeline stages:\n" + output());
            signal("STOP", victim);
            if (!launcher.waitFor(30, TimeUnit.SECONDS)) {
                fail("launcher still running 30 s after SIGSTOP of stage 1:\n" + output() + threadDumps(victim));
            }
            assertNotEquals(0, launcher.exitValue(), output());
            assertTrue(output().contains("rank 1 has sent no heartbeat for"), "expected the stopped stage named in:\n" + output());
            awaitGone(5, System.nanoTime());
        } finally {
            cleanUp();
        }
    }

    /** Starts the launcher and waits until rank 0 has finished a training step, so both ranks have joined. */
    private void start(String... layout) throws IOException, InterruptedException {
        Path out = dir.resolve("run");
        log = dir.resolve("launcher.log");
        List<String> args = new java.util.ArrayList<>(List.of("pretrain", "--nproc", "2", "--model", "bert-tiny", "--data",
                BadInputTest.data().toString(), "--out", out.toString(), "--steps", "100000", "--warmup", "1", "--vocab-size", "600",
                "--seq-length", "16", "--global-batch", "4", "--micro-batch", "2", "--eval-batches", "1", "--tp", "1", "--threads", "1"));
        args.addAll(List.of(layout));
        ProcessBuilder pb = new ProcessBuilder(LocalLauncher.javaCommand(Tessera.class.getName(), List.of("-Xmx512m"), args));
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("TESSERA_HEARTBEAT_TIMEOUT");
        launcher = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_S);
        poll(deadline, () -> {
            // The ranks are the launcher's children (their own short-lived helpers would be further descendants).
            launcher.children().filter(p -> !ranks.contains(p)).forEach(ranks::add);
            return ranks.size() >= 2 && output().contains("[rank 0] step 1/") || !launcher.isAlive();
        }, "the job's first step");
        assertTrue(launcher.isAlive(), "the launcher ended before training:\n" + output());
    }

    private void awaitGone(long seconds, long t0) throws InterruptedException {
        poll(t0 + TimeUnit.SECONDS.toNanos(seconds), () -> ranks.stream().noneMatch(ProcessHandle::isAlive) && !launcher.isAlive(),
                "every rank and the launcher gone within " + seconds + " s");
        System.out.printf("all gone after %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private void poll(long deadline, BooleanSupplier done, String what) throws InterruptedException {
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what + "; alive: " + ranks.stream().filter(ProcessHandle::isAlive).toList()
                        + "\n" + output());
            }
            Thread.sleep(100);
        }
    }

    private String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** @return the RANK variable of a rank process, from /proc; -1 if unreadable */
    private static int rankOf(ProcessHandle p) {
        try {
            for (String kv : Files.readString(Path.of("/proc", String.valueOf(p.pid()), "environ"), StandardCharsets.UTF_8)
                    .split("\0")) {
                if (kv.startsWith("RANK=")) {
                    return Integer.parseInt(kv.substring(5));
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** @return the thread stacks of the live ranks other than {@code except}, to show where a rank hangs */
    private String threadDumps(ProcessHandle except) {
        StringBuilder b = new StringBuilder();
        for (ProcessHandle p : ranks) {
            if (p.isAlive() && !p.equals(except)) {
                Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
                try {
                    Process dump = new ProcessBuilder(jcmd.toString(), String.valueOf(p.pid()), "Thread.print")
                            .redirectErrorStream(true).start();
                    String text = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    dump.waitFor(10, TimeUnit.SECONDS);
                    b.append("\n--- threads of rank ").append(rankOf(p)).append(" (pid ").append(p.pid()).append(")\n").append(text);
                } catch (IOException e) {
                    b.append("\n(no thread dump of pid ").append(p.pid()).append(": ").append(e.getMessage()).append(')');
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        return b.toString();
    }

    private static void signal(String name, ProcessHandle p) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(p.pid())).inheritIO().start();
        kill.waitFor(10, TimeUnit.SECONDS);
    }

    /** Ends whatever is left: a stopped rank gets SIGCONT first, so that nothing stays behind frozen. */
    private void cleanUp() throws IOException, InterruptedException {
        for (ProcessHandle p : ranks) {
            if (p.isAlive()) {
                signal("CONT", p);
                p.destroyForcibly();
            }
        }
        if (launcher != null) {
            launcher.destroyForcibly();
            launcher.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
