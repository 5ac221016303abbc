package io.tessera.parallel.comm;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * The sending half of a same-host link that uses cross-memory attach ({@link Cma}): a message is only
 * its address, sent as {@code DATA_CMA(seq, op, address, length)}; the peer pulls the bytes straight
 * from this process's buffer and answers {@code ACK} when it is done, which completes the send (the
 * buffer may change from then on). The peer consumes a collective's messages in order (a
 * point-to-point message it pulls as soon as the doorbell arrives), and an operation ends only once all
 * its messages are acknowledged, so the ACKs arrive in the order of the sends.
 *
 * <p>Thread safety: thread-safe.
 */
final class CmaSender implements LocalSender {

    private final Channel channel;
    private final ArrayDeque<CompletableFuture<Void>> unacknowledged = new ArrayDeque<>();
    private boolean closed;

    CmaSender(Channel channel) {
        this.channel = channel;
    }

    @Override
    public synchronized CompletableFuture<Void> send(long seq, byte opcode, ByteBuffer payload) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (closed) {
            done.completeExceptionally(new IllegalStateException("the cross-memory link is closed"));
            return done;
        }
        unacknowledged.add(done);
        ByteBuf bell = channel.alloc().buffer(4 + 22).writeInt(22).writeByte(NettyTransport.DATA_CMA).writeLong(seq)
                .writeByte(opcode).writeLong(Cma.address(payload)).writeInt(payload.remaining());
        NettyTransport.write(channel, bell);
        return done;
    }

    /** The peer has pulled the oldest unacknowledged message. */
    synchronized void acknowledged() {
        CompletableFuture<Void> f = unacknowledged.poll();
        if (f != null) {
            f.complete(null);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (CompletableFuture<Void> f : unacknowledged) {
            f.completeExceptionally(new IllegalStateException("the cross-memory link was closed"));
        }
        unacknowledged.clear();
    }

    @Override
    public void unmap() {
        close();
    }
}
