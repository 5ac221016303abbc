package io.tessera.parallel.launch;

import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.GroupName;
import io.tessera.parallel.comm.NettyEndpoint;
import io.tessera.parallel.comm.RingCommunicator;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.store.Store;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's membership of a distributed job over the Netty backend: the rendezvous store (hosted
 * here when this is rank 0), the network endpoint, and the communicators of the groups that
 * {@link ParallelLayout} assigns to this rank, as a {@link ParallelContext}.
 *
 * <pre>{@code
 * public static void main(String[] args) {
 *     try (DistributedJob job = DistributedJob.join(JobEnvironment.fromEnv(), ParallelLayout.of(8, 2, 1),
 *             CommOptions.defaults())) {
 *         train(job.context());
 *     }                                          // an exception here ends main, and the JVM exits non-zero
 * }
 * }</pre>
 *
 * <p>Joining: rank 0 starts the store; every rank connects to it (retrying until it is up), registers
 * its groups with its endpoint, publishes {@code host:port} under {@code tessera/peer/<rank>} (the host
 * being the local address of its store connection, which the store's host can reach), waits for every
 * rank's address, and connects each group. Every step is bounded by the options' timeout. All threads
 * are daemons, so an uncaught exception in {@code main} ends the process with a non-zero status.
 *
 * <p>Liveness: in a job of several ranks, a {@link Heartbeat} (on by default, see {@link Liveness})
 * shows that each rank is alive apart from the collectives; when a rank has been silent longer than
 * its timeout, the rank that notices logs why and aborts the job, so that every rank fails at once.
 *
 * <p>The store and the heartbeat are a {@link Rendezvous}, which the NCCL backend uses without this class.
 * Closing: the communicators, then the endpoint, then the rendezvous; rank 0 keeps the store up until
 * every rank has checked out (for at most 10 s; the communicators do not depend on it).
 *
 * <p>Thread safety: thread-safe; close once.
 */
public final class DistributedJob implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DistributedJob.class);
    private static final String PEER_KEY = "tessera/peer/";

    private final Rendezvous rendezvous;
    private final NettyEndpoint endpoint;
    private final List<Communicator> communicators;
    private final ParallelContext context;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DistributedJob(JobEnvironment env, ParallelLayout layout, CommOptions options, boolean hostStore, int ioThreads,
            Liveness liveness) {
        Rendezvous rv = Rendezvous.join(env, hostStore, options);
        NettyEndpoint ep = null;
        List<Communicator> comms = new ArrayList<>();
        try {
            InetAddress host = rv.localAddress();
            ep = new NettyEndpoint(env.rank(), env.token(), host, ioThreads, options);
            int rank = env.rank();
            int[] all = new int[layout.world()];
            Arrays.setAll(all, i -> i);
            int[] tensor = ParallelLayout.groupOf(layout.tensorGroups(), rank);
            int[] data = ParallelLayout.groupOf(layout.dataGroups(), rank);
            int[] pipeline = ParallelLayout.groupOf(layout.pipelineGroups(), rank);
            String worldName = all.length > 1 ? ep.register("world", all) : null;
            String tensorName = tensor.length > 1 ? ep.register("tp", tensor) : null;
            String dataName = data.length > 1 ? ep.register("dp", data) : null;
            String pipelineName = pipeline.length > 1 ? ep.register("pp", pipeline) : null;

            Store st = rv.store();
            st.set(PEER_KEY + rank, (host.getHostAddress() + ":" + ep.port()).getBytes(StandardCharsets.UTF_8));
            List<String> keys = new ArrayList<>();
            for (int r = 0; r < layout.world(); r++) {
                keys.add(PEER_KEY + r);
            }
            st.await(keys, options.timeout());
            InetSocketAddress[] addresses = new InetSocketAddress[layout.world()];
            for (int r = 0; r < layout.world(); r++) {
                String a = new String(st.get(PEER_KEY + r), StandardCharsets.UTF_8);
                int colon = a.lastIndexOf(':');
                addresses[r] = new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
            }
            Map<String, RingCommunicator> connected = ep.connect(r -> addresses[r]);
            comms.addAll(connected.values());
            Communicator w = pick(connected, worldName, "world", all);
            Communicator t = pick(connected, tensorName, "tp", tensor);
            Communicator d = pick(connected, dataName, "dp", data);
            Communicator p = pick(connected, pipelineName, "pp", pipeline);
            this.context = new ParallelContext(rank, layout, w, t, d, p);
            this.rendezvous = rv;
            this.endpoint = ep;
            this.communicators = List.copyOf(comms);
            rv.watch(liveness, this::stalled);
        } catch (RuntimeException e) {
            comms.forEach(Communicator::close);
            closeQuietly(ep);
            rv.leave();
            throw e;
        }
    }

    /**
     * Joins the job described by {@code env}; rank 0 hosts the store.
     *
     * @param env where this process sits (see {@link JobEnvironment#fromEnv()})
     * @param layout the degrees; its world must equal the environment's
     * @param options timeout (of joining and of every collective) and chunk size
     * @return the joined job
     * @throws IllegalArgumentException if the world sizes disagree
     * @throws CommunicationException if the job cannot be formed within the timeout
     */
    public static DistributedJob join(JobEnvironment env, ParallelLayout layout, CommOptions options) {
        return join(env, layout, options, env.rank() == 0, 1, Liveness.fromEnv());
    }

    /**
     * Joins a job, choosing whether this process hosts the store and how many I/O threads it uses.
     *
     * @param env where this process sits
     * @param layout the degrees
     * @param options timeout and chunk size
     * @param hostStore whether to start the store server (one process per job; false when a launcher
     *     hosts it)
     * @param ioThreads Netty event-loop threads
     * @return the joined job, with heartbeats as {@link Liveness#fromEnv()} says
     */
    public static DistributedJob join(JobEnvironment env, ParallelLayout layout, CommOptions options, boolean hostStore,
            int ioThreads) {
        return join(env, layout, options, hostStore, ioThreads, Liveness.fromEnv());
    }

    /**
     * Joins a job with explicit liveness settings.
     *
     * @param env where this process sits
     * @param layout the degrees
     * @param options timeout and chunk size
     * @param hostStore whether to start the store server
     * @param ioThreads Netty event-loop threads
     * @param liveness heartbeat interval and timeout ({@link Liveness#off()}: none); a rank silent
     *     longer than the timeout aborts the job, as {@link #abort} does
     * @return the joined job
     */
    public static DistributedJob join(JobEnvironment env, ParallelLayout layout, CommOptions options, boolean hostStore,
            int ioThreads, Liveness liveness) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(liveness, "liveness");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(options, "options");
        if (env.worldSize() != layout.world()) {
            throw new IllegalArgumentException("rank " + env.rank() + ": the " + env.source() + " says the world has "
                    + env.worldSize() + " ranks but the parallel layout " + layout + " has " + layout.world()
                    + "; hint: launch as many processes as tensor × pipeline × data");
        }
        return new DistributedJob(env, layout, options, hostStore, ioThreads, liveness);
    }

    /**
     * Joins a job, runs {@code body}, and leaves: on success by closing, on failure by aborting (so that
     * every other rank fails at once rather than at its timeout) and rethrowing, which ends a
     * {@code main} with a non-zero exit status.
     *
     * @param env where this process sits
     * @param layout the degrees
     * @param options timeout and chunk size
     * @param body the rank's work
     */
    public static void run(JobEnvironment env, ParallelLayout layout, CommOptions options, Consumer<ParallelContext> body) {
        DistributedJob job = join(env, layout, options);
        try {
            body.accept(job.context());
        } catch (RuntimeException | Error e) {
            job.abort("rank " + env.rank() + " failed: " + e);
            throw e;
        }
        job.close();
    }

    /** @return this rank's parallel context */
    public ParallelContext context() {
        return context;
    }

    /** @return the rendezvous store, for application use (keys under {@code tessera/} are reserved) */
    public Store store() {
        return rendezvous.store();
    }

    /** @return the environment the job was joined with */
    public JobEnvironment environment() {
        return rendezvous.environment();
    }

    /** @return connections this rank's endpoint refused (wrong token, unknown group) */
    public int refusedConnections() {
        return endpoint.refusedConnections() + rendezvous.refusedConnections();
    }

    /**
     * Gives up: every communicator is aborted (peers' pending operations fail at once with
     * {@code reason}), then the job is closed without waiting for the other ranks.
     *
     * @param reason why, for the peers' messages
     */
    public void abort(String reason) {
        for (Communicator c : communicators) {
            ((RingCommunicator) c).abort(reason);
        }
        close(false);
    }

    /** @return whether this rank's heartbeat found a silent rank (and so aborted the job) */
    public boolean stalledPeer() {
        return rendezvous.stalledPeer();
    }

    /** Called on the heartbeat thread when a rank has been silent too long. */
    private void stalled(String message) {
        LOG.error(message);
        abort(message);
    }

    /** Closes the communicators, the endpoint and the rendezvous (heartbeat, store checkout); once. */
    @Override
    public void close() {
        close(true);
    }

    private void close(boolean waitForOthers) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        communicators.forEach(Communicator::close);
        endpoint.close();
        if (waitForOthers) {
            rendezvous.close();
        } else {
            rendezvous.leave();
        }
    }

    private static Communicator pick(Map<String, RingCommunicator> connected, String name, String kind, int[] ranks) {
        return name == null ? new SingleRankCommunicator(GroupName.of(kind, ranks)) : connected.get(name);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("cleanup after a failed join: {}", e.toString());
        }
    }
}
