package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The launcher watch halts once the watched process is gone, and does nothing without the variable. */
class LauncherWatchTest {

    @Test
    @Timeout(30)
    void haltsWithOneLineOnceTheLauncherIsGone() throws Exception {
        Process fakeLauncher = new ProcessBuilder("sleep", "60").start();
        BlockingQueue<Integer> halted = new ArrayBlockingQueue<>(1);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Map<String, String> env = Map.of(LauncherWatch.PID_VARIABLE, String.valueOf(fakeLauncher.pid()));
        try (LauncherWatch w = LauncherWatch.startIfLaunched(env, "rank 3", Duration.ofMillis(50), log, halted::add).orElseThrow()) {
            assertNull(halted.poll(300, TimeUnit.MILLISECONDS), "halted while the launcher runs");
            fakeLauncher.destroyForcibly().waitFor();
            assertEquals(LauncherWatch.EXIT_STATUS, halted.poll(10, TimeUnit.SECONDS));
            assertEquals("rank 3: the launcher (pid " + fakeLauncher.pid() + ") is gone; stopping this rank" + System.lineSeparator(),
                    bytes.toString(StandardCharsets.UTF_8));
        } finally {
            fakeLauncher.destroyForcibly();
        }
    }

    @Test
    void withoutTheVariableNothingIsWatched() {
        assertTrue(LauncherWatch.startIfLaunched(Map.of(), "rank 0").isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LauncherWatch.startIfLaunched(Map.of(LauncherWatch.PID_VARIABLE, "x"), "rank 0"));
        assertTrue(e.getMessage().startsWith("TESSERA_LAUNCHER_PID = 'x' is not a pid"), e.getMessage());
    }
}
