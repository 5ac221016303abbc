package io.tessera.parallel.launch;

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
 * Spawns N local ranks as separate JVMs (or any command) with torchrun's rendezvous environment, streams
 * their output, and ends the whole job when one rank fails. The one process spawner of the project: the
 * CLI's {@code --nproc}, the scaling and collectives benchmarks and the multi-process tests use it.
 *
 * <pre>
 *   launcher ──spawn──▶ rank 0 (hosts the store)   MASTER_ADDR=127.0.0.1 MASTER_PORT=p
 *            ──spawn──▶ rank 1                      RANK=i LOCAL_RANK=i WORLD_SIZE=N LOCAL_WORLD_SIZE=N
 *            ──spawn──▶ ...                         TESSERA_JOB_TOKEN=&lt;random&gt;
 *   stdout/stderr of rank i ──▶ {@link RankOutput} (by default "[rank i] ..." on the console)
 *   first non-zero exit ──▶ SIGTERM to the others, SIGKILL after the grace period, exit with its code
 *   timeout passed ──▶ the same for every rank, then {@link IllegalStateException}
 *   SIGTERM/SIGINT to the launcher ──▶ the same for every rank, from a shutdown hook
 *   launcher killed (SIGKILL) ──▶ each rank sees TESSERA_LAUNCHER_PID gone and halts ({@link LauncherWatch})
 * </pre>
 *
 * <pre>{@code
 * int code = LocalLauncher.builder(2, LocalLauncher.javaCommand(MyRank.class.getName(), List.of("-Xmx2g"), List.of()))
 *         .timeout(Duration.ofMinutes(10))
 *         .build().run();
 * }</pre>
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
    private final Duration timeout;
    private final PrintStream console;
    private final RankOutput output;
    private final String stopNote;
    private volatile boolean stopping;

    private LocalLauncher(Builder b) {
        this.nproc = b.nproc;
        this.rankCommand = b.rankCommand;
        this.extraEnv = new LinkedHashMap<>(b.env);
        this.grace = b.grace;
        this.timeout = b.timeout;
        this.console = b.console;
        this.output = b.output != null ? b.output : RankOutput.prefixed(b.console);
        this.stopNote = b.stopNote;
    }

    /**
     * A launcher of {@code nproc} copies of {@code rankCommand}, with defaults: no extra environment, a
     * grace period of 10 s, no timeout, rank output prefixed on {@code System.out}.
     *
     * @param nproc number of ranks, at least 1
     * @param rankCommand the command each rank runs (it reads its rank from the environment)
     * @return the builder
     * @throws IllegalArgumentException if {@code nproc < 1} or the command is empty
     */
    public static Builder builder(int nproc, List<String> rankCommand) {
        return new Builder(nproc, rankCommand);
    }

    /**
     * The variables a launcher gives rank {@code rank}: torchrun's rendezvous set plus the job token.
     *
     * @param rank the rank
     * @param world the number of ranks, all on this host
     * @param port the store's port on 127.0.0.1
     * @param token the job token
     * @return the variables
     */
    public static Map<String, String> rankEnvironment(int rank, int world, int port, String token) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MASTER_ADDR", "127.0.0.1");
        env.put("MASTER_PORT", String.valueOf(port));
        env.put("RANK", String.valueOf(rank));
        env.put("LOCAL_RANK", String.valueOf(rank));
        env.put("WORLD_SIZE", String.valueOf(world));
        env.put("LOCAL_WORLD_SIZE", String.valueOf(world));
        env.put("TESSERA_JOB_TOKEN", token);
        return env;
    }

    /**
     * @return a port that was free a moment ago, for a store on this host
     * @throws IOException if no port can be bound
     */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
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
                env.putAll(rankEnvironment(rank, nproc, port, token));
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
            long deadline = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
            while (!running.isEmpty() && failed < 0) {
                if (timeout != null && System.nanoTime() - deadline > 0) {
                    console.printf("[launcher] the job did not finish within %d s; stopping its %d running rank(s)%n",
                            timeout.toSeconds(), running.size());
                    stop(running);
                    throw new IllegalStateException("the " + nproc + "-process job did not finish within " + timeout.toSeconds()
                            + " s (ranks still running: " + running.stream().map(procs::indexOf).toList()
                            + "); hint: raise the timeout, or look at the ranks' output above for where they stopped");
                }
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
                console.printf("[launcher] rank %d exited with code %d; stopping the other %d rank(s)%n", failed, code,
                        running.size());
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
        synchronized (console) {
            console.printf("[launcher] received SIGTERM or SIGINT; stopping %d rank(s)%s%n", alive.size(),
                    stopNote == null ? "" : " (" + stopNote + ")");
            console.flush();
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
                    output.line(rank, line);
                }
            } catch (IOException e) {
                // The rank's pipe closed while it was killed; nothing left to stream.
            }
        }, "tessera-launch-output-" + rank);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static String newToken() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Settings of a {@link LocalLauncher}; {@code set}-style methods return the builder.
     *
     * <p>Thread safety: not thread-safe; build on one thread.
     */
    public static final class Builder {
        private final int nproc;
        private final List<String> rankCommand;
        private Map<String, String> env = Map.of();
        private Duration grace = Duration.ofSeconds(10);
        private Duration timeout;
        private PrintStream console = System.out;
        private RankOutput output;
        private String stopNote;

        private Builder(int nproc, List<String> rankCommand) {
            if (nproc < 1) {
                throw new IllegalArgumentException("--nproc " + nproc + ": must be at least 1");
            }
            if (rankCommand == null || rankCommand.isEmpty()) {
                throw new IllegalArgumentException("the rank command is empty; hint: LocalLauncher.javaCommand(mainClass, flags, args)");
            }
            this.nproc = nproc;
            this.rankCommand = List.copyOf(rankCommand);
        }

        /**
         * @param variables added to every rank's environment (the rendezvous variables win over them,
         *     except {@code TESSERA_JOB_TOKEN}, which sets the job's token)
         * @return this builder
         */
        public Builder env(Map<String, String> variables) {
            this.env = Map.copyOf(variables);
            return this;
        }

        /**
         * @param d how long ranks get between SIGTERM and SIGKILL when the job stops
         * @return this builder
         */
        public Builder grace(Duration d) {
            this.grace = positive(d, "grace");
            return this;
        }

        /**
         * @param d how long the job may run before every rank is stopped and {@link #run()} throws; null: no limit
         * @return this builder
         */
        public Builder timeout(Duration d) {
            this.timeout = d == null ? null : positive(d, "timeout");
            return this;
        }

        /**
         * @param out where the launcher's own messages go, and (unless {@link #output} is set) the ranks'
         *     lines, prefixed
         * @return this builder
         */
        public Builder console(PrintStream out) {
            this.console = Objects.requireNonNull(out, "console");
            return this;
        }

        /**
         * @param o where each rank line goes
         * @return this builder
         */
        public Builder output(RankOutput o) {
            this.output = Objects.requireNonNull(o, "output");
            return this;
        }

        /**
         * @param note what a stop signal leaves behind, for its message (e.g. {@code the last complete
         *     checkpoint in runs/bert/checkpoints stays in force}), or null
         * @return this builder
         */
        public Builder stopNote(String note) {
            this.stopNote = note;
            return this;
        }

        /** @return the launcher */
        public LocalLauncher build() {
            return new LocalLauncher(this);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " = " + d + ": must be positive");
            }
            return d;
        }
    }
}
