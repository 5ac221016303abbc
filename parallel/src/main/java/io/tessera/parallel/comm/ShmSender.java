package io.tessera.parallel.comm;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * The sending half of a same-host link: payloads are copied into free slots of the peer's
 * {@link ShmRing}, and a small {@code DATA_SHM(slot, seq, op, length)} frame on the TCP channel tells the
 * peer where to look; the peer answers {@code FREE(slot)} once it is done with the slot. Sends never
 * block: when every slot is taken they queue, and whichever thread frees a slot (the event loop, on
 * {@code FREE}) copies the next one in. Doorbells go out in send order, so the peer sees the messages
 * in the order they were sent. A sender with a ring carries every collective message to its peer, so
 * ring and TCP messages never overtake each other.
 *
 * <p>Thread safety: thread-safe (one lock per link).
 */
final class ShmSender implements LocalSender {

    private final ShmRing ring;
    private final Channel channel;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean closed;

    /** A send waiting for a slot. */
    private static final class Pending {
        final long seq;
        final byte opcode;
        final ByteBuffer payload;
        final CompletableFuture<Void> done;

        Pending(long seq, byte opcode, ByteBuffer payload, CompletableFuture<Void> done) {
            this.seq = seq;
            this.opcode = opcode;
            this.payload = payload;
            this.done = done;
        }
    }

    ShmSender(ShmRing ring, Channel channel) {
        this.ring = ring;
        this.channel = channel;
        for (int i = 0; i < ring.slots(); i++) {
            free.add(i);
        }
    }

    /**
     * Queues a payload; the future completes once it has been copied into the ring.
     *
     * @throws IllegalArgumentException if the payload exceeds a slot (the communicator cuts messages at
     *     {@link CommOptions#chunkBytes()}, the slot size)
     */
    @Override
    public synchronized CompletableFuture<Void> send(long seq, byte opcode, ByteBuffer payload) {
        if (payload.remaining() > ring.slotBytes()) {
            throw new IllegalArgumentException("shared-memory message of " + payload.remaining() + " bytes exceeds the slot size "
                    + ring.slotBytes() + "; every rank must use the same chunkBytes");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (closed) {
            done.completeExceptionally(new IllegalStateException("the shared-memory link is closed"));
            return done;
        }
        pending.add(new Pending(seq, opcode, payload.slice(), done));
        drain();
        return done;
    }

    /** The peer is done with {@code slot}. */
    synchronized void freed(int slot) {
        free.add(slot);
        drain();
    }

    /** Fails queued sends; the ring stays mapped until {@link #unmap()}. */
    @Override
    public synchronized void close() {
        closed = true;
        for (Pending p : pending) {
            p.done.completeExceptionally(new IllegalStateException("the shared-memory link was closed"));
        }
        pending.clear();
    }

    /** Unmaps the ring; call once no thread can send any more. */
    @Override
    public synchronized void unmap() {
        close();
        ring.unmap();
    }

    private void drain() {
        while (!closed && !pending.isEmpty() && !free.isEmpty()) {
            Pending p = pending.poll();
            int slot = free.poll();
            int length = p.payload.remaining();
            ring.slot(slot, length).put(p.payload);
            ByteBuf bell = channel.alloc().buffer(4 + 18).writeInt(18).writeByte(NettyTransport.DATA_SHM).writeInt(slot)
                    .writeLong(p.seq).writeByte(p.opcode).writeInt(length);
            // always through the event loop's task queue, never inline: doorbells queued under this lock
            // then reach the socket in the order of the messages, whichever thread drained them
            NettyTransport.write(channel, bell);
            p.done.complete(null);
        }
    }
}
