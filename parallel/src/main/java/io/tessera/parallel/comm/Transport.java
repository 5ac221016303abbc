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
    private final RingPlan[] active;
    private final long[] arrived;
    private final String[] departed;
    private volatile TransportException fatal;

    Transport(int rank, int size) {
        this.rank = rank;
        this.size = size;
        for (int i = 0; i < size; i++) {
            inbox.add(new LinkedBlockingQueue<>());
            pointToPoint.add(new LinkedBlockingQueue<>());
        }
        this.active = new RingPlan[size];
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
     * Called by the backend when a message arrives. Point-to-point messages wait in their own queue,
     * so that a send matched later does not stand in the way of a collective. A collective message for
     * a plan that is running here is applied at once; otherwise it waits in the inbox.
     */
    final void deliver(int from, Inbound message) {
        if (message.opcode() == OpKind.SEND.wire()) {
            pointToPoint.get(from).add(message);
            return;
        }
        RingPlan plan;
        synchronized (this) {
            plan = active[from];
            if (plan == null) {
                inbox.get(from).add(message);
                return;
            }
        }
        plan.accept(message);
        if (plan.settled()) {
            synchronized (this) {
                if (active[from] == plan) {
                    active[from] = null;
                }
            }
        }
    }

    /**
     * Runs a plan until every chunk it expects has been handled: on the communication thread, pulling
     * from the inbox, or (when {@link #runsPlansOnArrival()}) by handing it to the receiving thread and
     * waiting. On failure or timeout the plan is stopped before this returns, so the caller's buffers
     * are no longer touched.
     *
     * @param deadline {@link System#nanoTime()} to give up at
     */
    final void execute(RingPlan plan, long deadline) throws TransportException {
        int from = plan.from();
        plan.start();
        if (!runsPlansOnArrival()) {
            while (!plan.settled()) {
                plan.accept(recv(from, false, deadline));
            }
            plan.await(deadline);
            return;
        }
        synchronized (this) {
            while (!plan.settled()) {
                Inbound m = inbox.get(from).poll();
                if (m == null) {
                    break;
                }
                if (m != WAKE) {
                    plan.accept(m);
                }
            }
            if (!plan.settled()) {
                checkAlive(from);
                active[from] = plan;
            }
        }
        try {
            plan.await(deadline);
        } finally {
            synchronized (this) {
                if (active[from] == plan) {
                    active[from] = null;
                }
            }
            plan.cancel();
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
            }
            for (RingPlan plan : active) {
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
