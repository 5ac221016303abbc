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
 * The receiving side of a collective in a group that reads its peers in place
 * ({@link Transport#readsPeersInPlace()}): every message is a region of a peer's buffer, which this
 * rank pulls from (cross-memory attach) or reads (threads of one JVM) and then releases, telling the
 * peer it is done with it. From each peer, in order, it expects:
 *
 * <ol>
 *   <li>an <em>offer</em> of the peer's copy of this rank's accumulator region, when there is one:
 *       once every peer's offer is here, their pieces are reduced into the accumulator (a cache-sized
 *       piece at a time, this rank's own value first, then the peers from {@code rank+1} on), AVG
 *       divides, the offers are released, and the finished accumulator may be offered to every peer;
 *   <li>a region to copy, when this rank has a destination for that peer (the peer's finished
 *       segment in an all-reduce, its shard in an all-gather, the root's buffer in a broadcast).
 * </ol>
 *
 * Like a {@link RingPlan} it runs where the messages arrive (the Netty event loop), so a rank's part of
 * an all-reduce proceeds without waking the communication thread between steps; the communication
 * thread makes the first offers, starts the plan and waits for it.
 *
 * <p>Thread safety: {@link #accept}, {@link #fail} and {@link #cancel} are serialised on the plan; the
 * communication thread waits in {@link #await} while another thread runs the plan.
 */
final class InPlacePlan implements ArrivalPlan {

    private final Transport transport;
    private final ChunkReducer reducer;
    private final long seq;
    private final OpKind kind;
    private final int rank;
    private final int size;
    private final ElementType type;
    private final ReduceOp op;
    private final ByteBuffer acc;
    private final boolean offerResult;
    private final ByteBuffer[] copyInto;
    private final Inbound[] offers;
    private final boolean[] offered;
    private final boolean[] copied;
    private int offersLeft;
    private int copiesLeft;
    private final List<CompletableFuture<Void>> sends = new ArrayList<>();
    private final List<Integer> sendPeers = new ArrayList<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private boolean cancelled;

    /**
     * @param acc the region every peer offers its copy of, to be reduced into it; null for none
     * @param op the reduction of {@code acc} (AVG divides by the group size at the end)
     * @param offerResult whether to offer {@code acc} to every peer once it is reduced
     * @param copyInto for each group rank, where to copy the region it sends; null entries (and empty
     *     regions) for none
     */
    InPlacePlan(Transport transport, ChunkReducer reducer, long seq, OpKind kind, int rank, int size, ElementType type,
            ReduceOp op, ByteBuffer acc, boolean offerResult, ByteBuffer[] copyInto) {
        this.transport = transport;
        this.reducer = reducer;
        this.seq = seq;
        this.kind = kind;
        this.rank = rank;
        this.size = size;
        this.type = type;
        this.op = op;
        this.acc = acc != null && acc.hasRemaining() ? acc : null;
        this.offerResult = offerResult;
        this.copyInto = copyInto.clone();
        this.offers = new Inbound[size];
        this.offered = new boolean[size];
        this.copied = new boolean[size];
        for (int p = 0; p < size; p++) {
            if (p == rank) {
                continue;
            }
            offersLeft += this.acc != null ? 1 : 0;
            if (this.copyInto[p] != null && this.copyInto[p].hasRemaining()) {
                copiesLeft++;
            } else {
                this.copyInto[p] = null;
            }
        }
    }

    @Override
    public synchronized void start() {
        finishIfDone();
    }

    @Override
    public synchronized boolean awaits(int peer) {
        return !done.isDone() && peer != rank && ((acc != null && !offered[peer]) || (copyInto[peer] != null && !copied[peer]));
    }

    @Override
    public boolean settled() {
        return done.isDone();
    }

    @Override
    public synchronized void accept(int from, Inbound m) {
        if (cancelled || done.isDone()) {
            m.release();
            return;
        }
        if (m.seq() != seq || m.opcode() != kind.wire()) {
            m.release();
            fail(new TransportException(TransportException.Kind.MISMATCH, from, "is running " + OpKind.labelOf(m.opcode()) + " #"
                    + m.seq() + " while this rank runs " + kind.label() + " #" + seq));
            return;
        }
        if (acc != null && !offered[from]) {
            if (!expectLength(from, m, acc.remaining())) {
                return;
            }
            offers[from] = m;
            offered[from] = true;
            if (--offersLeft == 0) {
                reduceOffers();
            }
        } else if (copyInto[from] != null && !copied[from]) {
            if (!expectLength(from, m, copyInto[from].remaining())) {
                return;
            }
            try {
                m.read(0, copyInto[from]);
            } catch (IOException e) {
                fail(new TransportException(TransportException.Kind.FAILED, from, "could not be read from: " + e.getMessage()));
                return;
            } finally {
                m.release();
            }
            copied[from] = true;
            copiesLeft--;
        } else {
            m.release();
            fail(new TransportException(TransportException.Kind.MISMATCH, from, "sent more than this rank expects in "
                    + kind.label() + " #" + seq));
            return;
        }
        finishIfDone();
    }

    private boolean expectLength(int from, Inbound m, int expected) {
        if (m.length() == expected) {
            return true;
        }
        int got = m.length();
        m.release();
        fail(new TransportException(TransportException.Kind.MISMATCH, from, "sent a region of " + got
                + " bytes where this rank expects " + expected));
        return false;
    }

    /** Every offer is here: reduce them into the accumulator, release them, offer the result. */
    private void reduceOffers() {
        Inbound[] from = new Inbound[size - 1];
        int[] ranks = new int[size - 1];
        for (int k = 1; k < size; k++) {
            ranks[k - 1] = (rank + k) % size;
            from[k - 1] = offers[ranks[k - 1]];
        }
        ReduceOp each = op == ReduceOp.AVG ? ReduceOp.SUM : op;
        int step = ChunkReducer.PULL_BYTES / type.bytes() * type.bytes();
        try {
            for (int off = 0; off < acc.remaining(); off += step) {
                ByteBuffer piece = acc.slice(acc.position() + off, Math.min(step, acc.remaining() - off)).order(acc.order());
                reducer.reduceAll(piece, from, ranks, off, type, each);
                if (op == ReduceOp.AVG) {
                    reducer.divide(piece, type, size);
                }
            }
        } catch (TransportException e) {
            fail(e);
            return;
        } catch (RuntimeException e) {
            fail(new TransportException(TransportException.Kind.MISMATCH, ranks[0], "sent data this rank could not reduce: " + e));
            return;
        } finally {
            for (int k = 0; k < from.length; k++) {
                from[k].release();
                offers[ranks[k]] = null;
            }
        }
        if (offerResult) {
            for (int k = 1; k < size; k++) {
                int q = (rank + k) % size;
                sends.add(transport.send(q, seq, kind.wire(), acc));
                sendPeers.add(q);
            }
        }
    }

    private void finishIfDone() {
        if (offersLeft == 0 && copiesLeft == 0) {
            done.complete(null);
        }
    }

    @Override
    public synchronized void fail(TransportException e) {
        done.completeExceptionally(e);
    }

    @Override
    public synchronized void cancel() {
        cancelled = true;
        for (int p = 0; p < size; p++) {
            if (offers[p] != null) {
                offers[p].release();
                offers[p] = null;
            }
        }
    }

    @Override
    public void await(long deadline) throws TransportException {
        try {
            done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            int missing = (rank + 1) % size;
            synchronized (this) {
                for (int p = 0; p < size; p++) {
                    if (p != rank && ((acc != null && !offered[p]) || (copyInto[p] != null && !copied[p]))) {
                        missing = p;
                        break;
                    }
                }
            }
            throw new TransportException(TransportException.Kind.TIMEOUT, missing, "sent nothing");
        } catch (ExecutionException e) {
            throw (TransportException) e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException(TransportException.Kind.INTERRUPTED, (rank + 1) % size, "interrupted while waiting");
        }
    }

    /** @return the offers this plan made, with the group rank each went to */
    synchronized List<CompletableFuture<Void>> sends() {
        return new ArrayList<>(sends);
    }

    /** @return the group rank each of {@link #sends()} went to */
    synchronized List<Integer> sendPeers() {
        return new ArrayList<>(sendPeers);
    }
}
