package io.tessera.parallel.launch;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * Ends a rank whose local launcher has gone (killed with SIGKILL, crashed), so that no rank is left
 * training on its own: the launcher puts its pid in {@value #PID_VARIABLE}, and the rank polls it every
 * {@link #POLL} from a daemon thread. The launcher counts as gone when no live process has its pid, or
 * when this rank, started as its child, has been re-parented (the pid may have been reused).
 *
 * <p>The rank then logs one line and halts ({@link Runtime#halt}): shutdown hooks could block on a
 * job whose peers are going too, and checkpoints are written to a {@code .partial} folder renamed at
 * the end, so the last complete one stays in force whenever the rank stops. Without the variable
 * (torchrun, Slurm) nothing is watched: those launchers end their ranks themselves.
 *
 * <p>Thread safety: thread-safe; close once.
 */
public final class LauncherWatch implements AutoCloseable {

    /** The variable in which a local launcher passes its pid to its ranks. */
    public static final String PID_VARIABLE = "TESSERA_LAUNCHER_PID";

    /** How often the launcher is looked for. */
    public static final Duration POLL = Duration.ofSeconds(1);

    /** The exit status of a rank whose launcher is gone. */
    public static final int EXIT_STATUS = 1;

    private final long launcher;
    private final Thread thread;
    private volatile boolean closed;

    private LauncherWatch(long launcher, String who, Duration poll, PrintStream log, IntConsumer halt) {
        this.launcher = launcher;
        boolean child = ProcessHandle.current().parent().map(p -> p.pid() == launcher).orElse(false);
        this.thread = new Thread(() -> {
            while (!closed) {
                if (gone(child)) {
                    log.printf("%s: the launcher (pid %d) is gone; stopping this rank%n", who, launcher);
                    log.flush();
                    halt.accept(EXIT_STATUS);
                    return;
                }
                try {
                    Thread.sleep(poll.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "tessera-launcher-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Starts watching the launcher named in {@code env}, if any.
     *
     * @param env the process's variables
     * @param who this rank, for the message (e.g. {@code rank 1})
     * @return the watch, or empty when {@value #PID_VARIABLE} is not set
     * @throws IllegalArgumentException if the variable is not a pid
     */
    public static Optional<LauncherWatch> startIfLaunched(Map<String, String> env, String who) {
        return startIfLaunched(env, who, POLL, System.err, status -> Runtime.getRuntime().halt(status));
    }

    /**
     * As {@link #startIfLaunched(Map, String)}, with the poll period, log and halt action given (for tests).
     *
     * @param env the process's variables
     * @param who this rank, for the message
     * @param poll how often to look for the launcher
     * @param log where the line goes
     * @param halt what ends the process, given the exit status
     * @return the watch, or empty when {@value #PID_VARIABLE} is not set
     */
    public static Optional<LauncherWatch> startIfLaunched(Map<String, String> env, String who, Duration poll, PrintStream log,
            IntConsumer halt) {
        Objects.requireNonNull(who, "who");
        String v = env.get(PID_VARIABLE);
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        long pid;
        try {
            pid = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PID_VARIABLE + " = '" + v + "' is not a pid; hint: unset it unless this process"
                    + " was started by tessera's local launcher", e);
        }
        if (pid <= 0) {
            throw new IllegalArgumentException(PID_VARIABLE + " = " + v + " is not a pid (must be positive)");
        }
        return Optional.of(new LauncherWatch(pid, who, poll, log, halt));
    }

    /** @return the pid watched */
    public long launcherPid() {
        return launcher;
    }

    private boolean gone(boolean child) {
        if (!ProcessHandle.of(launcher).map(ProcessHandle::isAlive).orElse(false)) {
            return true;
        }
        return child && ProcessHandle.current().parent().map(p -> p.pid() != launcher).orElse(true);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
