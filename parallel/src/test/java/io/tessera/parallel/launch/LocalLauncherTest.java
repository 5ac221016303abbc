package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class LocalLauncherTest {

    /** A rank: prints its environment; rank 1 fails when asked to, rank 0 then blocks until killed. */
    public static final class Rank {
        public static void main(String[] args) throws InterruptedException {
            String rank = System.getenv("RANK");
            System.out.println("env " + rank + " " + System.getenv("WORLD_SIZE") + " " + System.getenv("MASTER_ADDR")
                    + " token=" + (System.getenv("TESSERA_JOB_TOKEN").length() >= 16));
            if (args.length > 0 && args[0].equals("block")) {
                Thread.sleep(60_000);
            }
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
        int code = LocalLauncher.builder(2, LocalLauncher.javaCommand(Rank.class.getName(), List.of(), List.of()))
                .grace(Duration.ofSeconds(5)).console(new PrintStream(buf, true, StandardCharsets.UTF_8)).build().run();
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
        int code = LocalLauncher.builder(2, LocalLauncher.javaCommand(Rank.class.getName(), List.of(), List.of("fail")))
                .grace(Duration.ofSeconds(5)).console(new PrintStream(buf, true, StandardCharsets.UTF_8)).build().run();
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(3, code, out);
        assertTrue(out.contains("rank 1 exited with code 3"), out);
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "the blocked rank was stopped, not waited for");
    }

    @Test
    @Timeout(60)
    void aJobPastItsTimeoutIsStoppedWithAnErrorAndRankOutputGoesWhereAsked() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<String> rank0 = new java.util.concurrent.CopyOnWriteArrayList<>();
        LocalLauncher launcher = LocalLauncher.builder(2, LocalLauncher.javaCommand(Rank.class.getName(), List.of(), List.of("block")))
                .grace(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(3))
                .console(new PrintStream(buf, true, StandardCharsets.UTF_8))
                .output((rank, line) -> {
                    if (rank == 0) {
                        rank0.add(line);
                    }
                })
                .build();
        long start = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, launcher::run);
        assertTrue(e.getMessage().contains("did not finish within 3 s"), e.getMessage());
        assertTrue(System.nanoTime() - start < 20_000_000_000L, "the ranks were stopped at the timeout");
        assertEquals(List.of("env 0 2 127.0.0.1 token=true"), rank0);
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("[launcher] the job did not finish within 3 s"), buf.toString());
    }
}
