package io.tessera.parallel.launch;

import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.store.Store;
import io.tessera.parallel.store.StoreServer;
import io.tessera.parallel.store.TcpStore;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's place in a job apart from any communication backend: the rendezvous store (hosted here
 * when this process is its host), the connection to it, and the heartbeat that shows the other ranks this
 * one is alive. Both backends start from it: {@link DistributedJob} adds Netty communicators, and the
 * NCCL groups ({@code io.tessera.parallel.nccl.NcclGroups}) exchange their unique ids through its store
 * without building any Netty group.
 *
 * <pre>
 *   rank 0: StoreServer ◀──TcpStore── every rank (retrying until it is up, within the timeout)
 *   every rank ──heartbeat──▶ store; a rank silent past the liveness timeout ──▶ onStall(message)
 *   close: heartbeat off, check out; the store's host waits (≤ 10 s) for every rank to check out
 * </pre>
 *
 * <p>Thread safety: thread-safe; close once (later calls do nothing).
 */
public final class Rendezvous implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
    private static final String CHECKOUT_KEY = "tessera/checked-out";
    /** How long the store's host keeps the store up for ranks still finishing; communicators do not need it. */
    private static final Duration CHECKOUT_WAIT = Duration.ofSeconds(10);

    private final JobEnvironment env;
    private final StoreServer server;
    private final TcpStore store;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Heartbeat heartbeat;

    private Rendezvous(JobEnvironment env, StoreServer server, TcpStore store) {
        this.env = env;
        this.server = server;
        this.store = store;
    }

    /**
     * Connects to the job's store, first starting it when {@code hostStore}.
     *
     * @param env where this process sits
     * @param hostStore whether this process starts the store server (one per job: rank 0, or a launcher)
     * @param options the timeout of connecting
     * @return the rendezvous; close it last, after the communicators built on it
     * @throws CommunicationException if the store cannot be reached within the timeout
     */
    public static Rendezvous join(JobEnvironment env, boolean hostStore, CommOptions options) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(options, "options");
        InetSocketAddress master = new InetSocketAddress(env.masterAddr(), env.masterPort());
        StoreServer server = hostStore ? StoreServer.start(master, env.token()) : null;
        try {
            return new Rendezvous(env, server, TcpStore.connect(master, env.token(), env.rank(), options.timeout()));
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            throw e;
        }
    }

    /**
     * Starts this rank's heartbeat, in a job of several ranks and when {@code liveness} is enabled. Call it
     * once the communicators exist, so that {@code onStall} can abort them.
     *
     * @param liveness the interval and timeout
     * @param onStall called once, on the heartbeat's thread, with a message naming the silent rank
     * @throws IllegalStateException if a heartbeat already runs
     */
    public synchronized void watch(Liveness liveness, Consumer<String> onStall) {
        Objects.requireNonNull(liveness, "liveness");
        Objects.requireNonNull(onStall, "onStall");
        if (heartbeat != null) {
            throw new IllegalStateException("rank " + env.rank() + ": the heartbeat already runs");
        }
        if (liveness.enabled() && env.worldSize() > 1) {
            heartbeat = Heartbeat.start(new InetSocketAddress(env.masterAddr(), env.masterPort()), env.token(), env.rank(),
                    env.worldSize(), liveness, onStall);
        }
    }

    /** @return the job's store (keys under {@code tessera/} are reserved) */
    public Store store() {
        return store;
    }

    /** @return this host's address as the store sees it, which the other ranks can reach */
    public InetAddress localAddress() {
        return store.localAddress().getAddress();
    }

    /** @return the environment the job was joined with */
    public JobEnvironment environment() {
        return env;
    }

    /** @return connections the store server refused (wrong token); 0 where this process does not host it */
    public int refusedConnections() {
        return server == null ? 0 : server.refusedConnections();
    }

    /** @return whether the heartbeat found a silent rank */
    public boolean stalledPeer() {
        Heartbeat hb = heartbeat;
        return hb != null && hb.failed();
    }

    /** Leaves normally: the store's host waits (at most 10 s) for every rank to check out. */
    @Override
    public void close() {
        close(true);
    }

    /** Leaves at once, after an abort: the store's host does not wait for the other ranks. */
    public void leave() {
        close(false);
    }

    private void close(boolean waitForOthers) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Heartbeat hb = heartbeat;
        if (hb != null) {
            hb.close();
        }
        try {
            if (!waitForOthers && hb != null && hb.failed()) {
                // A silent rank aborted the job; when that rank hosts the store, a checkout would wait
                // out the store's (collective) timeout, so leave without one.
                return;
            }
            long out = store.add(CHECKOUT_KEY, 1);
            if (server != null && waitForOthers) {
                long deadline = System.nanoTime() + Math.min(store.timeout().toNanos(), CHECKOUT_WAIT.toNanos());
                while (out < env.worldSize() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    out = store.add(CHECKOUT_KEY, 0);
                }
                if (out < env.worldSize()) {
                    LOG.warn("rank {}: only {} of {} ranks checked out of the store in time; closing it anyway", env.rank(), out,
                            env.worldSize());
                }
            }
        } catch (CommunicationException e) {
            LOG.debug("rank {}: store checkout failed: {}", env.rank(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            store.close();
            if (server != null) {
                server.close();
            }
        }
    }
}
