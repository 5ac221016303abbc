package io.tessera.benchmarks.scaling;

import io.tessera.parallel.launch.LocalLauncher;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * {@link RankLauncher} over {@link LocalLauncher}: spawns the ranks as JVMs on this machine and captures
 * their output, echoing to the console every line that {@code echo} accepts.
 *
 * <p>Thread safety: one {@link #launch} at a time.
 */
public final class LocalRankLauncher implements RankLauncher {

    private final PrintStream console;
    private final Predicate<String> echo;
    private final Duration grace;

    /**
     * @param console where echoed rank lines go
     * @param echo which captured lines to echo (e.g. all but result lines)
     * @param grace how long surviving ranks of a failed job get before they are killed
     */
    public LocalRankLauncher(PrintStream console, Predicate<String> echo, Duration grace) {
        this.console = Objects.requireNonNull(console, "console");
        this.echo = Objects.requireNonNull(echo, "echo");
        this.grace = Objects.requireNonNull(grace, "grace");
    }

    @Override
    public List<String> launch(int world, List<String> rankCommand, Map<String, String> env)
            throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        int code = LocalLauncher.builder(world, rankCommand).env(env).grace(grace).console(console).output((rank, text) -> {
            String line = "[rank " + rank + "] " + text;
            synchronized (lines) {
                lines.add(line);
            }
            if (echo.test(line)) {
                synchronized (console) {
                    console.println(line);
                }
            }
        }).build().run();
        if (code != 0) {
            throw new IllegalStateException("a rank of the " + world + "-process job exited with status " + code
                    + " (its output is above); command: " + String.join(" ", rankCommand));
        }
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    @Override
    public List<String> rankCommand(String mainClass, List<String> jvmFlags, List<String> args) {
        return LocalLauncher.javaCommand(mainClass, jvmFlags, args);
    }
}
