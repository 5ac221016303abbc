package io.tessera.benchmarks.scaling;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * What the scaling benchmark needs from a launcher: start N local processes of one command with
 * torchrun's rendezvous environment, wait for all of them, and hand back their output.
 *
 * <pre>
 *   launch(N, cmd, env) ──▶ N processes of cmd, each with
 *                            MASTER_ADDR, MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE, TESSERA_JOB_TOKEN + env
 *                       ◀── every output line of rank i as "[rank i] line", once all have exited with 0
 * </pre>
 *
 * <p>The per-rank program is {@link ScalingRank}; {@link #rankCommand} builds its command line.
 * {@link LocalRankLauncher} implements this with {@link io.tessera.parallel.launch.LocalLauncher}.
 *
 * <p>Thread safety: implementations run one job at a time.
 */
public interface RankLauncher {

    /**
     * Runs one job to completion.
     *
     * @param world number of processes
     * @param rankCommand the command every rank runs
     * @param env variables added to every rank's environment
     * @return the ranks' output lines, each prefixed {@code [rank i] }
     * @throws IOException if a rank cannot start
     * @throws InterruptedException if interrupted (every rank is then stopped)
     * @throws IllegalStateException if a rank exits with a non-zero status
     */
    List<String> launch(int world, List<String> rankCommand, Map<String, String> env) throws IOException, InterruptedException;

    /**
     * The command line that runs a main class of this JVM's class path in a new JVM.
     *
     * @param mainClass the main class
     * @param jvmFlags extra JVM flags (heap size, properties)
     * @param args the main class's arguments
     * @return the command
     */
    List<String> rankCommand(String mainClass, List<String> jvmFlags, List<String> args);
}
