package io.tessera.examples.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class LocalLauncherTest {

    /** A rank: prints its environment; rank 1 fails when asked to, rank 0 then blocks until killed. */
    public static final class Rank {
        public static void main(String[] args) throws InterruptedException {
            String rank = System.getenv("RANK");
            System.out.println("env " + rank + " " + System.getenv("WORLD_SIZE") + " " + System.getenv("MASTER_ADDR")
                    + " token=" + (System.getenv("TESSERA_JOB_TOKEN").length() >= 16));
            if (args.length > 0 && args[0].equals("fail")) {
                if (rank.equals("1")) {
                    System.exit(3);
                }
                Thread.sleep(60_000);
            }
        }
    }

    @Test
    @Timeout(60)
    void ranksGetTheRendezvousEnvironmentAndPrefixedOutput() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = new LocalLauncher(2, LocalLauncher.javaCommand(Rank.class.getName(), List.of(), List.of()), Map.of(),
                Duration.ofSeconds(5), new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("[rank 0] env 0 2 127.0.0.1 token=true"), out);
        assertTrue(out.contains("[rank 1] env 1 2 127.0.0.1 token=true"), out);
    }

    @Test
    @Timeout(60)
    void oneFailingRankStopsTheJobWithItsExitCode() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int code = new LocalLauncher(2, LocalLauncher.javaCommand(Rank.class.getName(), List.of(), List.of("fail")), Map.of(),
                Duration.ofSeconds(5), new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(3, code, out);
        assertTrue(out.contains("rank 1 exited with code 3"), out);
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "the blocked rank was stopped, not waited for");
    }
}
