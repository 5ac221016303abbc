package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ranks as separate JVMs on loopback, launched with torchrun's environment variables. */
class MultiProcessTest {

    @TempDir
    Path logs;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        started.forEach(Process::destroyForcibly);
    }

    /** Ranks without a launcher (as torchrun would start them), so that a test can kill one and watch the others. */
    private List<Process> launch(int world, String scenario, int timeoutSeconds) throws IOException {
        int port = LocalLauncher.freePort();
        List<String> command = LocalLauncher.javaCommand(ProcessWorker.class.getName(),
                List.of("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of(scenario, Integer.toString(timeoutSeconds)));
        List<Process> ps = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(LocalLauncher.rankEnvironment(r, world, port, "multi-process-test"));
            pb.redirectErrorStream(true).redirectOutput(log(r));
            Process p = pb.start();
            ps.add(p);
            started.add(p);
        }
        return ps;
    }

    private File log(int rank) {
        return logs.resolve("rank" + rank + ".log").toFile();
    }

    private String output(int rank) throws IOException {
        return Files.readString(log(rank).toPath());
    }

    @Test
    void threeProcessesRunEveryCollectiveCorrectly() throws Exception {
        List<Process> ps = launch(3, "collectives", 60);
        for (int r = 0; r < 3; r++) {
            assertTrue(ps.get(r).waitFor(150, TimeUnit.SECONDS), "rank " + r + " did not finish:\n" + output(r));
            assertEquals(0, ps.get(r).exitValue(), "rank " + r + " failed:\n" + output(r));
            assertTrue(output(r).contains("rank " + r + " OK"), output(r));
        }
    }

    /**
     * A rank killed in the middle of a stream of all-reduces makes the others fail, naming the operation,
     * the group and the dead rank, and exit non-zero. They must notice the death itself (the connection
     * closing, or its memory becoming unreadable) rather than wait for the communicator's timeout: a
     * survivor that had offered the dead rank data it never confirmed used to wait the whole timeout.
     */
    @Test
    void aKilledProcessMakesTheOthersFailNamingIt() throws Exception {
        int timeout = 40;
        List<Process> ps = launch(3, "loop", timeout);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!output(2).contains("READY")) {
            assertTrue(System.nanoTime() < until && ps.get(2).isAlive(), "rank 2 never got going:\n" + output(2));
            Thread.sleep(100);
        }
        long killed = System.nanoTime();
        ps.get(2).destroyForcibly();
        for (int r = 0; r < 2; r++) {
            assertTrue(ps.get(r).waitFor(timeout + 15, TimeUnit.SECONDS), "rank " + r + " hung after rank 2 was killed:\n" + output(r));
            assertNotEquals(0, ps.get(r).exitValue(), "rank " + r + " exited 0:\n" + output(r));
            String out = output(r);
            assertTrue(out.contains("allReduce #") && out.contains("on group world[0,1,2] at rank " + r), out);
            assertTrue(out.contains("rank 2 (world rank 2)"), out);
            assertFalse(out.contains("within the timeout") || out.contains("did not take delivery"),
                    "rank " + r + " noticed the death only at its timeout:\n" + out);
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
        assertTrue(seconds < timeout, "the survivors took " + seconds + " s, beyond the " + timeout + " s timeout:\n"
                + output(0) + "\n" + output(1));
    }
}
