package io.tessera.parallel.comm;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * In-process transport: a collective's message is a view of the sender's buffer handed to the
 * receiver's inbox, and the send completes when the receiver releases it. Nothing is copied, so
 * reductions read the sender's memory directly. Point-to-point sends are copied instead, so that a
 * blocking send returns before the matching recv runs (as it does over sockets) and two ranks that
 * both send first and receive second do not wait on each other.
 *
 * <p>Thread safety: see {@link Transport}.
 */
final class LocalTransport extends Transport {

    private final LocalTransport[] members;
    private volatile boolean closed;

    LocalTransport(int rank, LocalTransport[] members) {
        super(rank, members.length);
        this.members = members;
    }

    /** Plans run on the communication thread: the sender's thread must never run the receiver's steps. */
    @Override
    boolean runsPlansOnArrival() {
        return false;
    }

    /** Every message is a view of the sender's buffer. */
    @Override
    boolean readsPeersInPlace() {
        return true;
    }

    @Override
    CompletableFuture<Void> send(int peer, long seq, byte opcode, ByteBuffer payload) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        LocalTransport to = members[peer];
        if (to.closed) {
            done.completeExceptionally(new IllegalStateException("rank " + peer + " has closed its communicator"));
            return done;
        }
        if (opcode == OpKind.SEND.wire()) {
            ByteBuffer copy = ByteBuffer.allocateDirect(payload.remaining()).order(payload.order());
            copy.put(payload.duplicate()).flip();
            to.deliver(rank(), new Inbound(seq, opcode, copy, () -> {}));
            done.complete(null);
        } else {
            to.deliver(rank(), new Inbound(seq, opcode, payload.slice(), () -> done.complete(null)));
        }
        return done;
    }

    @Override
    void announce(long seq) {
        for (int p = 0; p < size(); p++) {
            if (p != rank()) {
                members[p].arrived(rank(), seq);
            }
        }
    }

    @Override
    void abortPeers(String reason) {
        for (int p = 0; p < size(); p++) {
            if (p != rank()) {
                members[p].failed(rank(), "aborted the group: " + reason);
            }
        }
    }

    /** Nothing to free: messages are views of the senders' own buffers or heap-managed copies. */
    @Override
    void release() {
        // the receivers' inboxes die with the group
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int p = 0; p < size(); p++) {
            if (p != rank()) {
                members[p].departed(rank(), "closed its communicator");
            }
        }
    }
}
