package io.tessera.examples.launch;

import io.tessera.parallel.launch.LauncherWatch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Spawns N local ranks as separate JVMs with torchrun's rendezvous environment, streams their output
 * with a rank prefix, and ends the whole job when one rank fails.
 *
 * <pre>
 *   launcher ──spawn──▶ rank 0 (hosts the store)   MASTER_ADDR=127.0.0.1 MASTER_PORT=p
 *            ──spawn──▶ rank 1                      RANK=i LOCAL_RANK=i WORLD_SIZE=N
 *            ──spawn──▶ ...                         TESSERA_JOB_TOKEN=&lt;random&gt;
 *   stdout/stderr of rank i ──▶ "[rank i] ..." on the launcher's console
 *   first non-zero exit ──▶ SIGTERM to the others, SIGKILL after the grace period, exit with its code
 *   SIGTERM/SIGINT to the launcher ──▶ the same for every rank, from a shutdown hook
 *   launcher killed (SIGKILL) ──▶ each rank sees TESSERA_LAUNCHER_PID gone and halts ({@link LauncherWatch})
 * </pre>
 *
 * <p>A rank stopped with SIGSTOP cannot act on SIGTERM, so it gets SIGKILL at once when the job stops.
 *
 * <p>Thread safety: one {@link #run()} at a time per instance.
 */
public final class LocalLauncher {

    private final int nproc;
    private final List<String> rankCommand;
    private final Map<String, String> extraEnv;
    private final Duration grace;
    private final PrintStream out;
    private final String stopNote;
    private volatile boolean stopping;

    /**
     * @param nproc number of ranks, at least 1
     * @param rankCommand the command each rank runs (it reads its rank from the environment)
     * @param extraEnv variables added to every rank's environment
     * @param grace how long failing jobs' survivors get between SIGTERM and SIGKILL
     * @param out where rank output goes
     */
    public LocalLauncher(int nproc, List<String> rankCommand, Map<String, String> extraEnv, Duration grace, PrintStream out) {
        this(nproc, rankCommand, extraEnv, grace, out, null);
    }

    /**
     * @param nproc number of ranks, at least 1
     * @param rankCommand the command each rank runs (it reads its rank from the environment)
     * @param extraEnv variables added to every rank's environment
     * @param grace how long ranks get between SIGTERM and SIGKILL when the job stops
     * @param out where rank output goes
     * @param stopNote what a stop signal leaves behind, for its message (e.g. {@code the last complete
     *     checkpoint in runs/bert/checkpoints stays in force}), or null
     */
    public LocalLauncher(int nproc, List<String> rankCommand, Map<String, String> extraEnv, Duration grace, PrintStream out,
            String stopNote) {
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc " + nproc + ": must be at least 1");
        }
        this.nproc = nproc;
        this.rankCommand = List.copyOf(rankCommand);
        this.extraEnv = new LinkedHashMap<>(extraEnv);
        this.grace = Objects.requireNonNull(grace, "grace");
        this.out = Objects.requireNonNull(out, "out");
        this.stopNote = stopNote;
    }

    /**
     * The command that starts this same JVM's class path with another main class, for spawning ranks.
     *
     * @param mainClass the main class
     * @param jvmFlags extra JVM flags (heap size, system properties)
     * @param args arguments of the main class
     * @return the command line
     */
    public static List<String> javaCommand(String mainClass, List<String> jvmFlags, List<String> args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda=error");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs the job to completion. Until it returns, SIGTERM or SIGINT to this JVM (a shutdown hook)
     * stops every rank: SIGTERM, then SIGKILL after the grace period.
     *
     * @return 0 if every rank succeeded, else the exit code of the first rank that failed
     * @throws IOException if a rank cannot be started
     * @throws InterruptedException if interrupted (every rank is then killed)
     */
    public int run() throws IOException, InterruptedException {
        int port = freePort();
        String token = extraEnv.getOrDefault("TESSERA_JOB_TOKEN", newToken());
        List<Process> procs = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        Thread hook = new Thread(() -> onShutdown(procs), "tessera-launch-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (int rank = 0; rank < nproc; rank++) {
                ProcessBuilder pb = new ProcessBuilder(rankCommand);
                Map<String, String> env = pb.environment();
                env.putAll(extraEnv);
                env.put("MASTER_ADDR", "127.0.0.1");
                env.put("MASTER_PORT", String.valueOf(port));
                env.put("RANK", String.valueOf(rank));
                env.put("LOCAL_RANK", String.valueOf(rank));
                env.put("WORLD_SIZE", String.valueOf(nproc));
                env.put("LOCAL_WORLD_SIZE", String.valueOf(nproc));
                env.put("TESSERA_JOB_TOKEN", token);
                env.put(LauncherWatch.PID_VARIABLE, String.valueOf(ProcessHandle.current().pid()));
                Process p = pb.start();
                synchronized (procs) {
                    procs.add(p);
                }
                pumps.add(pump(p.getInputStream(), rank));
                pumps.add(pump(p.getErrorStream(), rank));
            }
            int failed = -1;
            int code = 0;
            List<Process> running = new ArrayList<>(procs);
            while (!running.isEmpty() && failed < 0) {
                for (Process p : new ArrayList<>(running)) {
                    if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                        running.remove(p);
                        if (p.exitValue() != 0) {
                            failed = procs.indexOf(p);
                            code = p.exitValue();
                            break;
                        }
                    }
                }
            }
            if (failed >= 0 && !stopping) {
                out.printf("[launcher] rank %d exited with code %d; stopping the other %d rank(s)%n", failed, code, running.size());
                stop(running);
            }
            for (Thread t : pumps) {
                t.join(2000);
            }
            return code;
        } finally {
            stop(procs);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down: the hook is stopping the ranks.
            }
        }
    }

    /** The shutdown hook: the JVM got SIGTERM or SIGINT (or is exiting) while ranks run. */
    private void onShutdown(List<Process> procs) {
        stopping = true;
        List<Process> alive;
        synchronized (procs) {
            alive = procs.stream().filter(Process::isAlive).toList();
        }
        if (alive.isEmpty()) {
            return;
        }
        synchronized (out) {
            out.printf("[launcher] received SIGTERM or SIGINT; stopping %d rank(s)%s%n", alive.size(),
                    stopNote == null ? "" : " (" + stopNote + ")");
            out.flush();
        }
        try {
            stop(alive);
            for (Process p : alive) {
                p.waitFor(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            alive.forEach(Process::destroyForcibly);
        }
    }

    private void stop(List<Process> procs) throws InterruptedException {
        List<Process> all;
        synchronized (procs) {
            all = List.copyOf(procs);
        }
        for (Process p : all) {
            if (p.isAlive()) {
                p.destroy();
                if (stopped(p.pid())) {
                    p.destroyForcibly(); // SIGTERM waits for a SIGCONT that will not come; SIGKILL does not
                }
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (Process p : all) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** @return whether the process is stopped (SIGSTOP, or traced), as Linux's /proc says; false elsewhere */
    private static boolean stopped(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            int end = stat.lastIndexOf(')');
            char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : '?';
            return state == 'T' || state == 't';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private Thread pump(InputStream in, int rank) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (out) {
                        out.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException e) {
                // The rank's pipe closed while it was killed; nothing left to stream.
            }
        }, "tessera-launch-output-" + rank);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private static String newToken() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
