package io.tessera.parallel.comm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The receiving side of one ring collective, as data: for each chunk that will arrive from the
 * previous rank, in order, the region it belongs to, what to do with it (copy, or reduce into the
 * region) and whether to pass the region on to the next rank afterwards.
 *
 * <p>Because the plan is data, the thread that runs it can be chosen per transport: the Netty
 * transport runs it on the event loop as each chunk is read (a chunk is reduced and forwarded without
 * waking the communication thread, so a ring step costs one hop between processes), the in-process
 * transport on the communication thread, which pulls the messages from its inbox.
 *
 * <p>Thread safety: {@link #accept} and {@link #cancel} are serialised on the plan; the communication
 * thread waits in {@link #await} while another thread runs the plan.
 */
final class RingPlan implements ArrivalPlan {

    /** What to do with an arriving chunk. */
    enum Action {
        /** Copy it into the region. */
        COPY,
        /** Reduce it into the region. */
        REDUCE,
        /** Reduce it into the region, then divide the region by the group size (the end of AVG). */
        REDUCE_AND_DIVIDE
    }

    private final Transport transport;
    private final ChunkReducer reducer;
    private final long seq;
    private final OpKind kind;
    private final int from;
    private final int to;
    private final ElementType type;
    private final ReduceOp op;
    private final int divisor;
    private final List<ByteBuffer> regions = new ArrayList<>();
    private final List<Action> actions = new ArrayList<>();
    private final List<Boolean> forwards = new ArrayList<>();
    private final List<CompletableFuture<Void>> sends = new ArrayList<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private int next;
    private boolean cancelled;

    /**
     * @param from the group rank chunks arrive from
     * @param to the group rank forwarded chunks go to
     * @param type element type (for reductions)
     * @param op reduction (SUM for AVG; the division is {@link Action#REDUCE_AND_DIVIDE})
     * @param divisor the group size, for AVG
     */
    RingPlan(Transport transport, ChunkReducer reducer, long seq, OpKind kind, int from, int to, ElementType type, ReduceOp op,
            int divisor) {
        this.transport = transport;
        this.reducer = reducer;
        this.seq = seq;
        this.kind = kind;
        this.from = from;
        this.to = to;
        this.type = type;
        this.op = op;
        this.divisor = divisor;
    }

    /** Adds the next expected chunk. */
    void expect(ByteBuffer region, Action action, boolean forward) {
        regions.add(region);
        actions.add(action);
        forwards.add(forward);
    }

    int from() {
        return from;
    }

    long seq() {
        return seq;
    }

    /** Sends a region of this operation to the next rank (used for the chunks sent before any arrive). */
    synchronized void send(ByteBuffer region) {
        sends.add(transport.send(to, seq, kind.wire(), region));
    }

    /** Marks a plan that expects nothing as done; call once all chunks are expected. */
    @Override
    public synchronized void start() {
        if (regions.isEmpty()) {
            done.complete(null);
        }
    }

    /** @return whether the plan has completed or failed */
    @Override
    public boolean settled() {
        return done.isDone();
    }

    @Override
    public boolean awaits(int peer) {
        return peer == from && !settled();
    }

    /** Handles the next chunk (from the previous rank, the only one a ring plan hears from). */
    @Override
    public void accept(int peer, Inbound m) {
        accept(m);
    }

    /**
     * Handles the next chunk: checks that it belongs to this operation and has the expected size,
     * applies the action, releases the message, and forwards the region if asked.
     */
    synchronized void accept(Inbound m) {
        if (cancelled || done.isDone()) {
            m.release();
            return;
        }
        ByteBuffer region = regions.get(next);
        if (m.seq() != seq || m.opcode() != kind.wire()) {
            m.release();
            fail(new TransportException(TransportException.Kind.MISMATCH, from, "is running " + OpKind.labelOf(m.opcode()) + " #"
                    + m.seq() + " while this rank runs " + kind.label() + " #" + seq));
            return;
        }
        if (m.length() != region.remaining()) {
            int got = m.length();
            m.release();
            fail(new TransportException(TransportException.Kind.MISMATCH, from, "sent a chunk of " + got
                    + " bytes where this rank expects " + region.remaining()));
            return;
        }
        try {
            apply(actions.get(next), region, m);
        } catch (IOException e) {
            fail(new TransportException(TransportException.Kind.FAILED, from, "could not be read from: " + e.getMessage()));
            return;
        } catch (RuntimeException e) {
            fail(new TransportException(TransportException.Kind.MISMATCH, from, "sent a chunk this rank could not apply: " + e));
            return;
        } finally {
            m.release();
        }
        if (forwards.get(next)) {
            sends.add(transport.send(to, seq, kind.wire(), region));
        }
        next++;
        if (next == regions.size()) {
            done.complete(null);
        }
    }

    /**
     * Copies or reduces one chunk into its region. A remote chunk is pulled straight into the region,
     * or, to be reduced, in cache-sized blocks each reduced as soon as it is pulled.
     */
    private void apply(Action action, ByteBuffer region, Inbound m) throws IOException {
        if (action == Action.COPY) {
            m.read(0, region);
            return;
        }
        if (m.isRemote()) {
            int step = ChunkReducer.PULL_BYTES / type.bytes() * type.bytes();
            for (int off = 0; off < region.remaining(); off += step) {
                int len = Math.min(step, region.remaining() - off);
                ByteBuffer piece = reducer.piece(len);
                m.read(off, piece);
                reducer.reduce(region.slice(region.position() + off, len), piece, type, op);
            }
        } else {
            reducer.reduce(region, m.data(), type, op);
        }
        if (action == Action.REDUCE_AND_DIVIDE) {
            reducer.divide(region, type, divisor);
        }
    }

    /** Fails the plan (a peer is gone, or sent something wrong); later chunks are dropped. */
    @Override
    public synchronized void fail(TransportException e) {
        done.completeExceptionally(e);
    }

    /** Stops the plan: a chunk being applied finishes first, later ones are dropped. */
    @Override
    public synchronized void cancel() {
        cancelled = true;
    }

    /**
     * Waits until every chunk has been handled.
     *
     * @param deadline {@link System#nanoTime()} to give up at
     */
    @Override
    public void await(long deadline) throws TransportException {
        try {
            done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new TransportException(TransportException.Kind.TIMEOUT, from, "sent nothing");
        } catch (ExecutionException e) {
            throw (TransportException) e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException(TransportException.Kind.INTERRUPTED, from, "interrupted while waiting");
        }
    }

    /** @return the futures of every region sent so far (complete when the payload may be reused) */
    synchronized List<CompletableFuture<Void>> sends() {
        return new ArrayList<>(sends);
    }

    /** @return the group rank forwarded chunks go to */
    int to() {
        return to;
    }
}
