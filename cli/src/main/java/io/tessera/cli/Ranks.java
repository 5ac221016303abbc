package io.tessera.cli;

import ai.djl.Device;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.launch.JobEnvironment;
import io.tessera.parallel.launch.LauncherWatch;
import io.tessera.parallel.launch.LocalLauncher;
import io.tessera.parallel.nccl.NcclGroups;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * How a command runs as a job: with {@code --nproc N} it spawns N local ranks that re-run the same
 * command line (without {@code --nproc}); under torchrun or Slurm (their variables set) it joins that
 * job as one rank; otherwise it runs as a single process.
 *
 * <p>Stopping: SIGTERM or SIGINT to the spawning process stops every rank it started; a rank whose
 * spawning process has vanished (SIGKILL) halts within about a second ({@link LauncherWatch}); a rank
 * silent for {@code TESSERA_HEARTBEAT_TIMEOUT} seconds (default 15) fails the job whatever
 * {@code --timeout} says ({@link io.tessera.parallel.launch.Heartbeat}).
 *
 * <p>Thread safety: stateless.
 */
final class Ranks {

    /** The work of one rank. */
    @FunctionalInterface
    interface Body {
        /**
         * @param ctx this rank's groups (NCCL communicators when {@code device} is a GPU and the job has
         *     several ranks)
         * @param device where this rank computes
         * @throws IOException on I/O failure
         */
        void run(ParallelContext ctx, Device device) throws IOException;
    }

    private Ranks() {}

    /** @return the scheduler's environment, or null when this process was not started by one */
    static JobEnvironment scheduled() {
        return System.getenv("WORLD_SIZE") != null || System.getenv("SLURM_NTASKS") != null ? JobEnvironment.fromEnv() : null;
    }

    /** @return the number of ranks the job will have */
    static int world(Integer nproc) {
        JobEnvironment env = scheduled();
        return nproc != null ? nproc : env != null ? env.worldSize() : 1;
    }

    /**
     * @param world ranks of the job
     * @param tp the {@code --tp} flag
     * @return the data-parallel degree {@code world / tp}
     * @throws IllegalArgumentException when {@code tp} does not divide the ranks
     */
    static int dataParallel(int world, int tp) {
        if (tp < 1 || world % tp != 0) {
            throw new IllegalArgumentException("--tp " + tp + " does not divide the " + world + " ranks; choose --nproc a multiple of --tp");
        }
        return world / tp;
    }

    /**
     * Runs {@code body} as this process's rank, or spawns {@code nproc} local ranks that do.
     *
     * <p>The device request is resolved per rank ({@link Devices#resolve}: rank with local rank L takes
     * cuda:L). On a GPU, a job of several ranks forms its groups with NCCL ({@link NcclGroups}); on the
     * CPU, with the Netty backend.
     *
     * @param spec the running command
     * @param nproc local ranks to spawn, or null
     * @param tp tensor-parallel degree
     * @param threads libtorch threads per rank, or null for cores / local ranks
     * @param timeout how long a collective waits for a peer
     * @param device the {@code --device} request
     * @param body the rank's work
     * @return the exit code
     * @throws Exception if the work fails
     */
    static int run(CommandLine.Model.CommandSpec spec, Integer nproc, int tp, Integer threads, Duration timeout, Devices device,
            Body body) throws Exception {
        return run(spec, nproc, tp, 1, threads, timeout, device, body);
    }

    /**
     * As {@link #run(CommandLine.Model.CommandSpec, Integer, int, Integer, Duration, Devices, Body)} with
     * {@code pp} pipeline stages: the job's ranks form a tp × pp × dp grid (TP innermost).
     *
     * @param spec the running command
     * @param nproc local ranks to spawn, or null
     * @param tp tensor-parallel degree
     * @param pp pipeline-parallel degree
     * @param threads libtorch threads per rank, or null for cores / local ranks
     * @param timeout how long a collective waits for a peer
     * @param device the {@code --device} request
     * @param body the rank's work
     * @return the exit code
     * @throws Exception if the work fails
     */
    static int run(CommandLine.Model.CommandSpec spec, Integer nproc, int tp, int pp, Integer threads, Duration timeout, Devices device,
            Body body) throws Exception {
        int world = world(nproc);
        if (nproc != null) {
            return spawn(spec, nproc, threads);
        }
        JobEnvironment env = scheduled();
        if (env != null) {
            // A rank of a local launcher ends when the launcher does; under torchrun/Slurm nothing is watched.
            LauncherWatch.startIfLaunched(System.getenv(), "rank " + env.rank());
        }
        int localRanks = env == null ? 1 : env.localWorldSize();
        Torch.setThreads(threads != null ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / localRanks));
        if (env == null) {
            if (tp != 1 || pp != 1) {
                throw new IllegalArgumentException((pp != 1 ? "--pp " + pp : "--tp " + tp) + " needs " + (tp * pp) + " ranks; pass"
                        + " --nproc " + (tp * pp) + " to spawn them locally, or launch with torchrun/srun");
            }
            body.run(ParallelContext.single(), device.resolve(0, 1));
            return 0;
        }
        Device here = device.resolve(env.localRank(), localRanks);
        ParallelLayout layout = ParallelLayout.of(world, tp, pp);
        CommOptions options = CommOptions.defaults().withTimeout(timeout);
        java.util.function.Consumer<ParallelContext> work = ctx -> {
            try {
                body.run(ctx, here);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        NcclGroups.runOn(here, env, layout, options, work);
        return 0;
    }

    private static int spawn(CommandLine.Model.CommandSpec spec, int nproc, Integer threads) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>();
        List<String> original = spec.commandLine().getParseResult().originalArgs();
        for (int i = 0; i < original.size(); i++) {
            String a = original.get(i);
            if (a.equals("--nproc")) {
                i++;
            } else if (!a.startsWith("--nproc=")) {
                args.add(a);
            }
        }
        if (threads == null) {
            args.add("--threads");
            args.add(String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / nproc)));
        }
        List<String> jvm = List.of("-Xmx" + Math.max(1, 12 / nproc) + "g", "-XX:+UseParallelGC");
        CommandLine.Model.OptionSpec out = spec.findOption("--out");
        String note = out == null || out.getValue() == null ? null
                : "the last complete checkpoint in " + Path.of(out.getValue().toString()).resolve("checkpoints") + " stays in force";
        return LocalLauncher.builder(nproc, LocalLauncher.javaCommand(Tessera.class.getName(), jvm, args))
                .grace(Duration.ofSeconds(10)).stopNote(note).build().run();
    }
}
