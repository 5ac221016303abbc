package io.tessera.parallel.comm;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Point-to-point messaging between the members of one group, under the ring algorithms of
 * {@link RingCommunicator}. Each peer's messages arrive in the order the peer sent them. Besides data,
 * a transport carries three signals: arrival (a rank has started operation {@code seq}), departure (a
 * peer closed in an orderly way) and failure (a peer's connection broke or a peer aborted the group).
 *
 * <pre>
 *   backend (netty / in-process) --deliver/arrived/departed/failed--> inbox per peer --recv--> comm thread
 *   comm thread --send(peer, seq, op, payload)--> backend       (payload not copied: keep it until the future completes)
 * </pre>
 *
 * <p>Thread safety: {@code deliver}, {@code arrived}, {@code departed} and {@code failed} may be called
 * from any thread; {@code recv} and {@code awaitArrivals} are called by the one communication thread.
 */
abstract class Transport implements AutoCloseable {

    private static final Inbound WAKE = new Inbound(-1, (byte) -1, null, () -> {});
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final int rank;
    private final int size;
    private final List<BlockingQueue<Inbound>> inbox = new ArrayList<>();
    private final List<BlockingQueue<Inbound>> pointToPoint = new ArrayList<>();
    private final ArrivalPlan[] active;
    private final long[] arrived;
    private final String[] departed;
    private volatile TransportException fatal;
    private final CompletableFuture<Void> failure = new CompletableFuture<>();

    Transport(int rank, int size) {
        this.rank = rank;
        this.size = size;
        for (int i = 0; i < size; i++) {
            inbox.add(new LinkedBlockingQueue<>());
            pointToPoint.add(new LinkedBlockingQueue<>());
        }
        this.active = new ArrivalPlan[size];
        this.arrived = new long[size];
        this.departed = new String[size];
    }

    final int rank() {
        return rank;
    }

    final int size() {
        return size;
    }

    /**
     * Sends a message. The payload between position and limit is not copied: it must stay unchanged
     * until the returned future completes.
     *
     * @return completes when the payload is no longer needed; fails if it cannot be delivered
     */
    abstract CompletableFuture<Void> send(int peer, long seq, byte opcode, ByteBuffer payload);

    /** Tells every peer that this rank has started operation {@code seq}. */
    abstract void announce(long seq);

    /** Tells every peer that this rank gave up on the group, and why. Best effort. */
    abstract void abortPeers(String reason);

    /** Leaves the group in an orderly way; peers fail only if they still wait on this rank. */
    @Override
    public abstract void close();

    /**
     * Frees memory that messages may still point into. Called after {@link #close()}, once the
     * communication thread has stopped and no message can be read any more.
     */
    abstract void release();

    /**
     * Whether {@link RingPlan}s run on the thread that receives the messages (the backend's event loop)
     * rather than on the communication thread.
     */
    abstract boolean runsPlansOnArrival();

    /**
     * Whether every member of the group reads every other member's messages in place, in the sender's
     * own buffer (in-process views, cross-memory attach), whatever their size. The answer is the same on
     * every rank of the group, so the communicator may choose its algorithms by it.
     */
    abstract boolean readsPeersInPlace();

    /**
     * Called by the backend when a message arrives. Point-to-point messages wait in their own queue,
     * so that a send matched later does not stand in the way of a collective. A collective message for
     * a plan that is running here and still awaits that peer is applied at once; otherwise it waits in
     * the inbox.
     */
    final void deliver(int from, Inbound message) {
        if (message.opcode() == OpKind.SEND.wire()) {
            pointToPoint.get(from).add(message);
            return;
        }
        ArrivalPlan plan;
        synchronized (this) {
            plan = active[from];
            if (plan == null || !plan.awaits(from)) {
                // no plan, or one that has all it needs from this peer while it waits on others: the
                // message belongs to the peer's next operation
                inbox.get(from).add(message);
                notifyAll();
                return;
            }
        }
        plan.accept(from, message);
        if (plan.settled()) {
            deactivate(plan);
        }
    }

    /**
     * Runs a plan until every message it expects has been handled: on the communication thread, pulling
     * from the inboxes, or (when {@link #runsPlansOnArrival()}) by handing it to the receiving thread and
     * waiting. On failure or timeout the plan is stopped before this returns, so the caller's buffers
     * are no longer touched.
     *
     * @param deadline {@link System#nanoTime()} to give up at
     */
    final void execute(ArrivalPlan plan, long deadline) throws TransportException {
        plan.start();
        if (!runsPlansOnArrival()) {
            while (!plan.settled()) {
                List<Integer> waiting = new ArrayList<>();
                for (int p = 0; p < size; p++) {
                    if (p != rank && plan.awaits(p)) {
                        waiting.add(p);
                    }
                }
                if (waiting.isEmpty()) {
                    break;
                }
                int p = awaitAnyMessage(waiting, deadline);
                plan.accept(p, recv(p, false, deadline));
            }
            plan.await(deadline);
            return;
        }
        synchronized (this) {
            for (int p = 0; p < size && !plan.settled(); p++) {
                while (p != rank && plan.awaits(p)) {
                    Inbound m = inbox.get(p).poll();
                    if (m == null) {
                        break;
                    }
                    if (m != WAKE) {
                        plan.accept(p, m);
                    }
                }
            }
            if (!plan.settled()) {
                for (int p = 0; p < size; p++) {
                    if (p != rank && plan.awaits(p)) {
                        checkAlive(p);
                        active[p] = plan;
                    }
                }
            }
        }
        try {
            plan.await(deadline);
        } finally {
            deactivate(plan);
            plan.cancel();
        }
    }

    private synchronized void deactivate(ArrivalPlan plan) {
        for (int p = 0; p < size; p++) {
            if (active[p] == plan) {
                active[p] = null;
            }
        }
    }

    /** Called by the backend when a peer announces an operation. */
    final synchronized void arrived(int from, long seq) {
        if (seq > arrived[from]) {
            arrived[from] = seq;
            notifyAll();
        }
    }

    /** Called by the backend when a peer leaves in an orderly way. */
    final void departed(int from, String reason) {
        synchronized (this) {
            if (departed[from] == null) {
                departed[from] = reason;
            }
            if (active[from] != null) {
                active[from].fail(new TransportException(TransportException.Kind.DEPARTED, from, reason));
            }
            notifyAll();
        }
        inbox.get(from).add(WAKE);
        pointToPoint.get(from).add(WAKE);
    }

    /** Called by the backend when a peer's connection breaks or a peer aborts the group. */
    final void failed(int from, String reason) {
        synchronized (this) {
            if (fatal == null) {
                fatal = new TransportException(TransportException.Kind.FAILED, from, reason);
                failure.completeExceptionally(fatal);
            }
            for (ArrivalPlan plan : active) {
                if (plan != null) {
                    plan.fail(fatal);
                }
            }
            notifyAll();
        }
        for (int p = 0; p < size; p++) {
            inbox.get(p).add(WAKE);
            pointToPoint.get(p).add(WAKE);
        }
    }

    /** @return the last operation {@code peer} announced */
    final synchronized long arrivedAt(int peer) {
        return arrived[peer];
    }

    /** @return the failure that broke the group, or null */
    final TransportException fatal() {
        return fatal;
    }

    /** @return completes exceptionally, with {@link #fatal()}, when the group breaks; never normally */
    final CompletableFuture<Void> failure() {
        return failure;
    }

    /**
     * Takes the next message from {@code from}.
     *
     * @param pointToPoint whether to take the next point-to-point message rather than the next
     *     collective one
     * @param deadline {@link System#nanoTime()} after which to give up
     */
    final Inbound recv(int from, boolean pointToPoint, long deadline) throws TransportException {
        BlockingQueue<Inbound> q = (pointToPoint ? this.pointToPoint : inbox).get(from);
        while (true) {
            Inbound m = q.poll();
            if (m == null) {
                checkAlive(from);
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TransportException(TransportException.Kind.TIMEOUT, from, "sent nothing");
                }
                try {
                    m = q.poll(Math.min(left, POLL_NANOS), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TransportException(TransportException.Kind.INTERRUPTED, from, "interrupted while waiting");
                }
            }
            if (m != null && m != WAKE) {
                return m;
            }
        }
    }

    /**
     * Waits until one of {@code peers} has a collective message waiting (or a signal that {@link #recv}
     * turns into an error), so that the caller can take the ready peers first.
     *
     * @param peers group ranks, at least one
     * @param deadline {@link System#nanoTime()} after which to give up
     * @return a peer to {@link #recv} from next: one with a message waiting, or at the deadline the
     *     first of {@code peers} (whose recv then reports the timeout)
     */
    final synchronized int awaitAnyMessage(List<Integer> peers, long deadline) throws TransportException {
        while (true) {
            for (int p : peers) {
                if (!inbox.get(p).isEmpty()) {
                    return p;
                }
            }
            for (int p : peers) {
                checkAlive(p);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return peers.get(0);
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, POLL_NANOS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException(TransportException.Kind.INTERRUPTED, peers.get(0), "interrupted while waiting");
            }
        }
    }

    /**
     * Waits until every peer has announced operation {@code seq} (or a later one).
     *
     * @param deadline {@link System#nanoTime()} after which to give up
     */
    final synchronized void awaitArrivals(long seq, long deadline) throws TransportException {
        while (true) {
            int missing = -1;
            for (int p = 0; p < size; p++) {
                if (p != rank && arrived[p] < seq) {
                    missing = p;
                    break;
                }
            }
            if (missing < 0) {
                return;
            }
            checkAlive(missing);
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new TransportException(TransportException.Kind.TIMEOUT, missing, "did not arrive");
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException(TransportException.Kind.INTERRUPTED, missing, "interrupted while waiting");
            }
        }
    }

    private void checkAlive(int peer) throws TransportException {
        TransportException f = fatal;
        if (f != null) {
            throw f;
        }
        String gone;
        synchronized (this) {
            gone = departed[peer];
        }
        if (gone != null) {
            throw new TransportException(TransportException.Kind.DEPARTED, peer, gone);
        }
    }
}
