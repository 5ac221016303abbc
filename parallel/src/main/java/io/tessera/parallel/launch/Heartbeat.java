package io.tessera.parallel.launch;

import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.store.TcpStore;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Liveness of a job's ranks apart from its collectives: each rank bumps its counter
 * {@code tessera/heartbeat/<rank>} in the store every {@link Liveness#interval()}, from a daemon thread
 * on a store connection of its own; rank 0 (the store's host) watches every other rank's counter, and
 * every other rank watches rank 0's.
 *
 * <pre>
 *   rank r ── add(heartbeat/r, 1) every interval ──▶ store (rank 0)
 *   rank 0 ── add(heartbeat/1..N-1, 0) ──▶ counter moved? note System.nanoTime() of this rank
 *   rank r ── add(heartbeat/0, 0)      ──▶ ditto, and a store call that gets no answer counts as rank 0 silent
 *   silent longer than {@link Liveness#timeout()} ──▶ onFailure(message naming the rank)
 * </pre>
 *
 * <p>Staleness is measured on the watcher's own monotonic clock between observations of a changing
 * counter, never by comparing wall clocks across hosts. A watcher that was itself paused (its sleep
 * overran by more than half the timeout) forgives its peers that long. A rank that closes its job
 * sets {@code tessera/heartbeat/<rank>/closed} before it stops beating, so a peer that finishes
 * early is not taken for a stalled one. Every store call waits at most the timeout (plus the store
 * client's grace), so a frozen store host cannot hang the watcher.
 *
 * <p>Thread safety: thread-safe; {@link #close()} may be called from any thread, the beating one
 * included (as happens when {@code onFailure} closes the job).
 */
public final class Heartbeat implements AutoCloseable {

    private static final String KEY = "tessera/heartbeat/";
    private static final String CLOSED = "/closed";

    private final int rank;
    private final Liveness liveness;
    private final TcpStore store;
    private final Consumer<String> onFailure;
    private final Thread thread;
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile boolean closed;
    private volatile boolean failed;

    private Heartbeat(InetSocketAddress master, String token, int rank, int world, Liveness liveness, Consumer<String> onFailure) {
        this.rank = rank;
        this.liveness = liveness;
        this.onFailure = onFailure;
        this.store = TcpStore.connect(master, token, rank, liveness.timeout());
        List<Integer> watched = new ArrayList<>();
        if (rank == 0) {
            for (int r = 1; r < world; r++) {
                watched.add(r);
            }
        } else {
            watched.add(0);
        }
        this.thread = new Thread(() -> beat(watched), "tessera-heartbeat-r" + rank);
        thread.setDaemon(true);
    }

    /**
     * Connects to the job's store and starts beating and watching.
     *
     * @param master the store's address
     * @param token the job token
     * @param rank this rank
     * @param world the number of ranks, at least 2
     * @param liveness interval and timeout; must be {@linkplain Liveness#enabled() enabled}
     * @param onFailure called once, on the heartbeat thread, with a message naming the silent rank
     * @return the running heartbeat; close it to stop
     * @throws CommunicationException if the store cannot be reached within the timeout
     */
    public static Heartbeat start(InetSocketAddress master, String token, int rank, int world, Liveness liveness,
            Consumer<String> onFailure) {
        Objects.requireNonNull(liveness, "liveness");
        Objects.requireNonNull(onFailure, "onFailure");
        if (!liveness.enabled()) {
            throw new IllegalArgumentException("rank " + rank + ": heartbeats are off (" + Liveness.TIMEOUT_VARIABLE + "=0)");
        }
        if (world < 2 || rank < 0 || rank >= world) {
            throw new IllegalArgumentException("heartbeat: rank " + rank + " of a world of " + world
                    + "; needs at least 2 ranks and a rank inside the world");
        }
        Heartbeat h = new Heartbeat(master, token, rank, world, liveness, onFailure);
        h.thread.start();
        return h;
    }

    /** @return whether this heartbeat found a silent rank */
    public boolean failed() {
        return failed;
    }

    private void beat(List<Integer> watched) {
        long limit = liveness.timeout().toNanos();
        long interval = liveness.interval().toNanos();
        int n = watched.size();
        long[] seen = new long[n];
        long[] changed = new long[n];
        long start = System.nanoTime();
        Arrays.fill(seen, -1);
        Arrays.fill(changed, start);
        long lastAnswer = start;
        while (!closed) {
            try {
                store.add(KEY + rank, 1);
                for (int i = 0; i < n; i++) {
                    long v = store.add(KEY + watched.get(i), 0);
                    if (v != seen[i]) {
                        seen[i] = v;
                        changed[i] = System.nanoTime();
                    }
                }
                lastAnswer = System.nanoTime();
                for (int i = 0; i < n && !closed; i++) {
                    long silent = lastAnswer - changed[i];
                    if (silent > limit) {
                        int r = watched.get(i);
                        if (store.add(KEY + r + CLOSED, 0) > 0) {
                            watched.remove(i);
                            n--;
                            seen = drop(seen, i);
                            changed = drop(changed, i);
                            i--;
                        } else {
                            fail(String.format(Locale.ROOT, "rank %d: rank %d has sent no heartbeat for %.1f s (the limit is %s);"
                                    + " it is stalled or frozen (kill -STOP, swapped out, hung in native code). The job stops;"
                                    + " fix or restart that rank's host, then resume with --resume (%s sets the limit)",
                                    rank, r, silent / 1e9, limitText(), Liveness.TIMEOUT_VARIABLE));
                            return;
                        }
                    }
                }
            } catch (CommunicationException e) {
                if (closed) {
                    return;
                }
                long silent = System.nanoTime() - lastAnswer;
                if (silent > limit) {
                    fail(String.format(Locale.ROOT, "rank %d: the store's host, rank 0, has answered no heartbeat for %.1f s (the"
                            + " limit is %s; %s); it is stalled, frozen or gone. The job stops; fix or restart rank 0's host,"
                            + " then resume with --resume (%s sets the limit)", rank, silent / 1e9, limitText(), e.getMessage(),
                            Liveness.TIMEOUT_VARIABLE));
                    return;
                }
            }
            long wake = System.nanoTime() + interval;
            while (!closed && System.nanoTime() < wake) {
                LockSupport.parkNanos(this, wake - System.nanoTime());
            }
            long overslept = System.nanoTime() - wake;
            if (overslept > limit / 2) {
                // This process was paused (stopped, swapped out, a long GC): its peers were not silent, it was.
                for (int i = 0; i < n; i++) {
                    changed[i] += overslept;
                }
                lastAnswer += overslept;
            }
        }
    }

    private void fail(String message) {
        if (closed) {
            return;
        }
        failed = true;
        onFailure.accept(message);
    }

    private String limitText() {
        long ms = liveness.timeout().toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms / 1000.0 + " s";
    }

    private static long[] drop(long[] a, int i) {
        long[] b = new long[a.length - 1];
        System.arraycopy(a, 0, b, 0, i);
        System.arraycopy(a, i + 1, b, i, b.length - i);
        return b;
    }

    /**
     * Stops beating. Unless this heartbeat found a silent rank, it first marks this rank as closed so
     * that its peers do not take its silence for a stall.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        if (!failed) {
            try {
                store.add(KEY + rank + CLOSED, 1);
            } catch (CommunicationException e) {
                // The store is gone or unresponsive; the peers find out by themselves.
            }
        }
        closed = true;
        LockSupport.unpark(thread);
        store.close();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
