package io.tessera.parallel.comm;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A group's transport over TCP: one Netty channel per peer (the higher group rank dials the lower),
 * carrying length-prefixed frames.
 *
 * <pre>
 *   [int length][byte type][...]        length counts everything after itself
 *   DATA     seq:long opcode:byte payload   payload written straight from the sender's buffer
 *   ARRIVE   seq:long                       the sender has started collective #seq
 *   ABORT    reason:string                  the sender gave up on the group
 *   GOODBYE                                 orderly close follows
 *   DATA_SHM slot:int seq:long opcode:byte length:int   payload is in the receiver's shared-memory ring
 *   FREE     slot:int                       the receiver is done with a slot of the sender's ring
 *   SHM_MAPPED mapped:byte cma:byte         the dialer has mapped (or declined) the acceptor's ring, and
 *                                           whether the pair uses cross-memory attach instead of rings
 *   DATA_CMA seq:long opcode:byte address:long length:int   pull the payload from the sender's memory
 *   ACK                                     the receiver has pulled the oldest DATA_CMA payload
 *   LINKS    inPlace:byte                   whether the sender reads every peer by cross-memory attach
 * </pre>
 *
 * A received DATA frame is handed to the communication thread as a view of Netty's (pooled, direct)
 * receive buffer and released after use, so the reduction reads the bytes where the socket put them.
 * Between ranks on one host, collective payloads bypass TCP: preferably the receiver pulls them from
 * the sender's buffer with cross-memory attach ({@link CmaSender}, one copy), else they travel through
 * {@link ShmRing}s ({@link ShmSender}: one copy into the ring, and the reduction reads the ring in
 * place).
 * Once connected, the members tell each other whether they reach every peer by cross-memory attach
 * ({@code LINKS}); only if all of them do does the group {@link #readsPeersInPlace() read in place},
 * which lets the communicator use algorithms that pull whole segments from the peers' buffers.
 * A channel that closes without GOODBYE means the peer's process died: every waiting operation fails
 * at once, naming that peer, and so do sends whose delivery that peer had yet to confirm.
 *
 * <p>Thread safety: see {@link Transport}; channel callbacks run on Netty's event loop.
 */
final class NettyTransport extends Transport {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    static final byte DATA = 20;
    static final byte ARRIVE = 21;
    static final byte ABORT = 22;
    static final byte GOODBYE = 23;
    static final byte DATA_SHM = 24;
    static final byte FREE = 25;
    static final byte SHM_MAPPED = 26;
    static final byte DATA_CMA = 27;
    static final byte ACK = 28;
    static final byte LINKS = 29;
    private static final int DATA_HEADER = 1 + 8 + 1;

    private final String group;
    private final int[] worldRanks;
    private final Channel[] channels;
    private final LocalSender[] senders;
    private final long[] pids;
    private final ShmRing[] rings;
    private final CountDownLatch connected;
    private final CountDownLatch linksHeard;
    private final boolean[] peerInPlace;
    private volatile boolean inPlace;
    private volatile boolean closing;

    NettyTransport(String group, int rank, int[] worldRanks) {
        super(rank, worldRanks.length);
        this.group = group;
        this.worldRanks = worldRanks.clone();
        this.channels = new Channel[worldRanks.length];
        this.senders = new LocalSender[worldRanks.length];
        this.pids = new long[worldRanks.length];
        this.rings = new ShmRing[worldRanks.length];
        this.connected = new CountDownLatch(worldRanks.length - 1);
        this.linksHeard = new CountDownLatch(worldRanks.length - 1);
        this.peerInPlace = new boolean[worldRanks.length];
    }

    String group() {
        return group;
    }

    int[] worldRanks() {
        return worldRanks.clone();
    }

    /**
     * Binds a handshaken channel to a peer and starts reading its frames.
     *
     * @param link how collective data reaches the peer when it runs on this host, else null (TCP)
     * @param in this rank's ring the peer writes into, or null
     * @param pid the peer's process, whose memory cross-memory attach reads
     * @param ready whether the link is settled; if not, the peer's {@code SHM_MAPPED} frame settles it
     * @return null on success, else why the channel cannot be bound
     */
    synchronized String attach(int peer, Channel channel, LocalSender link, ShmRing in, long pid, boolean ready) {
        if (peer < 0 || peer >= size() || peer == rank()) {
            return "group " + group + " has no peer rank " + peer + " for rank " + rank();
        }
        if (channels[peer] != null) {
            return "rank " + peer + " of group " + group + " is already connected to rank " + rank();
        }
        channels[peer] = channel;
        senders[peer] = link;
        rings[peer] = in;
        pids[peer] = pid;
        channel.pipeline().addLast(new Frames(peer));
        if (ready) {
            connected.countDown();
        }
        return null;
    }

    /**
     * Settles an accepted peer's link once the dialer has said what it could map: its file is no
     * longer needed; with cross-memory attach both rings go; without a mapped ring this rank's goes.
     */
    private synchronized void settle(int peer, boolean ringMapped, boolean cma) {
        ShmRing in = rings[peer];
        if (in != null) {
            in.unlink();
            if (cma || !ringMapped) {
                in.unmap();
                rings[peer] = null;
            }
        }
        if (cma) {
            if (senders[peer] != null) {
                senders[peer].unmap();
            }
            senders[peer] = new CmaSender(channels[peer]);
        }
        connected.countDown();
    }

    /** Waits until every peer is connected. */
    boolean awaitConnected(long timeoutNanos) throws InterruptedException {
        return connected.await(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Tells every peer whether this rank reaches all of them by cross-memory attach, and waits for their
     * answers; the group reads in place only if every member does. Call once every peer is connected.
     *
     * @return whether every peer answered in time
     */
    boolean agreeOnLinks(long timeoutNanos) throws InterruptedException {
        boolean mine = true;
        synchronized (this) {
            for (int p = 0; p < size(); p++) {
                mine &= p == rank() || senders[p] instanceof CmaSender;
            }
        }
        for (Channel ch : channels) {
            if (ch != null) {
                write(ch, ch.alloc().buffer(6).writeInt(2).writeByte(LINKS).writeBoolean(mine));
            }
        }
        if (!linksHeard.await(timeoutNanos, TimeUnit.NANOSECONDS)) {
            return false;
        }
        boolean all = mine;
        synchronized (this) {
            for (int p = 0; p < size(); p++) {
                all &= p == rank() || peerInPlace[p];
            }
        }
        inPlace = all;
        return true;
    }

    private synchronized void linksOf(int peer, boolean peerReadsInPlace) {
        peerInPlace[peer] = peerReadsInPlace;
        linksHeard.countDown();
    }

    /** Every pair of the group uses cross-memory attach (agreed by {@link #agreeOnLinks}). */
    @Override
    boolean readsPeersInPlace() {
        return inPlace;
    }

    /** @return the group ranks not yet connected, for messages */
    synchronized String unconnected() {
        StringBuilder b = new StringBuilder();
        for (int p = 0; p < size(); p++) {
            if (p != rank() && channels[p] == null) {
                b.append(b.length() == 0 ? "" : ", ").append(p).append(" (world rank ").append(worldRanks[p]).append(')');
            }
        }
        return b.toString();
    }

    /** @return how collective data reaches each peer, for the log: e.g. {@code [-, cma, ring]} */
    synchronized String links() {
        StringBuilder b = new StringBuilder("[");
        for (int p = 0; p < size(); p++) {
            LocalSender l = senders[p];
            b.append(p == 0 ? "" : ", ").append(p == rank() ? "-" : l instanceof CmaSender ? "cma" : l != null ? "ring" : "tcp");
        }
        return b.append(inPlace ? "] read in place" : "]").toString();
    }

    /** Plans run on the event loop: a chunk is reduced and forwarded as soon as it is read. */
    @Override
    boolean runsPlansOnArrival() {
        return true;
    }

    /**
     * Sends by cross-memory attach or over the peer's shared-memory ring when there is one, else over TCP.
     * Point-to-point messages never take a ring: the receiver may hold them long past the collectives
     * that follow, and they must not pin ring slots those collectives need (they have their own queue,
     * so their order relative to collectives does not matter). By cross-memory attach the receiver pulls
     * a point-to-point payload into a buffer of its own as soon as the doorbell arrives, whether or not
     * its recv has started, so the send completes without waiting for the matching recv, as over TCP.
     */
    @Override
    CompletableFuture<Void> send(int peer, long seq, byte opcode, ByteBuffer payload) {
        LocalSender local = senders[peer];
        if (local != null && (opcode != OpKind.SEND.wire() || local instanceof CmaSender)) {
            return local.send(seq, opcode, payload);
        }
        Channel ch = channels[peer];
        CompletableFuture<Void> done = new CompletableFuture<>();
        ByteBuf header = ch.alloc().buffer(4 + DATA_HEADER).writeInt(DATA_HEADER + payload.remaining())
                .writeByte(DATA).writeLong(seq).writeByte(opcode);
        ByteBuf frame = payload.hasRemaining() ? Unpooled.wrappedBuffer(header, Unpooled.wrappedBuffer(payload.slice())) : header;
        write(ch, frame).addListener(f -> {
            if (f.isSuccess()) {
                done.complete(null);
            } else {
                done.completeExceptionally(f.cause());
            }
        });
        return done;
    }

    @Override
    void announce(long seq) {
        for (Channel ch : channels) {
            if (ch != null) {
                write(ch, ch.alloc().buffer(13).writeInt(9).writeByte(ARRIVE).writeLong(seq));
            }
        }
    }

    /**
     * Writes a frame through the event loop's task queue, never inline: the communication thread (first
     * chunks, signals) and the event loop (chunks forwarded by a running plan) both write, and a write
     * made inline on the event loop would overtake writes still queued by the other thread.
     */
    static ChannelPromise write(Channel ch, ByteBuf frame) {
        ChannelPromise promise = ch.newPromise();
        ch.eventLoop().execute(() -> ch.writeAndFlush(frame, promise));
        return promise;
    }

    @Override
    void abortPeers(String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        for (Channel ch : channels) {
            if (ch != null && ch.isActive()) {
                write(ch, ch.alloc().buffer(9 + text.length).writeInt(5 + text.length).writeByte(ABORT)
                        .writeInt(text.length).writeBytes(text));
            }
        }
    }

    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        for (LocalSender local : senders) {
            if (local != null) {
                local.close();
            }
        }
        for (Channel ch : channels) {
            if (ch != null && ch.isActive()) {
                write(ch, ch.alloc().buffer(5).writeInt(1).writeByte(GOODBYE)).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    @Override
    synchronized void release() {
        for (int p = 0; p < size(); p++) {
            if (senders[p] != null) {
                senders[p].unmap();
                senders[p] = null;
            }
            if (rings[p] != null) {
                rings[p].unlink();
                rings[p].unmap();
                rings[p] = null;
            }
        }
    }

    private synchronized ShmRing ring(int peer) {
        return rings[peer];
    }

    private synchronized LocalSender sender(int peer) {
        return senders[peer];
    }

    private synchronized long pid(int peer) {
        return pids[peer];
    }

    /** Decodes one peer's frames into the transport's signals. */
    private final class Frames extends ChannelInboundHandlerAdapter {
        private final int peer;
        private boolean goodbye;

        Frames(int peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            byte type = in.readByte();
            switch (type) {
                case DATA: {
                    long seq = in.readLong();
                    byte opcode = in.readByte();
                    ByteBuf body = in;
                    if (in.nioBufferCount() != 1 || !in.isDirect()) {
                        body = ctx.alloc().directBuffer(in.readableBytes()).writeBytes(in);
                        in.release();
                    }
                    ByteBuf owned = body;
                    deliver(peer, new Inbound(seq, opcode, owned.nioBuffer(), owned::release));
                    return;
                }
                case DATA_SHM: {
                    int slot = in.readInt();
                    long seq = in.readLong();
                    byte opcode = in.readByte();
                    int length = in.readInt();
                    ShmRing ring = ring(peer);
                    if (ring == null) {
                        LOG.warn("group {} rank {}: rank {} sent shared-memory data without a ring; closing the connection",
                                group, rank(), peer);
                        ctx.close();
                        break;
                    }
                    deliver(peer, new Inbound(seq, opcode, ring.slot(slot, length), () -> write(ctx.channel(),
                            ctx.alloc().buffer(9).writeInt(5).writeByte(FREE).writeInt(slot))));
                    break;
                }
                case DATA_CMA: {
                    long seq = in.readLong();
                    byte opcode = in.readByte();
                    long address = in.readLong();
                    int length = in.readInt();
                    if (opcode == OpKind.SEND.wire()) {
                        pullNow(ctx, seq, opcode, address, length);
                        break;
                    }
                    deliver(peer, Inbound.remote(seq, opcode, pid(peer), address, length, () -> write(ctx.channel(),
                            ctx.alloc().buffer(5).writeInt(1).writeByte(ACK))));
                    break;
                }
                case ACK: {
                    LocalSender local = sender(peer);
                    if (local instanceof CmaSender) {
                        ((CmaSender) local).acknowledged();
                    }
                    break;
                }
                case FREE: {
                    LocalSender local = sender(peer);
                    if (local instanceof ShmSender) {
                        ((ShmSender) local).freed(in.readInt());
                    }
                    break;
                }
                case SHM_MAPPED:
                    settle(peer, in.readBoolean(), in.readBoolean());
                    break;
                case ARRIVE:
                    arrived(peer, in.readLong());
                    break;
                case LINKS:
                    linksOf(peer, in.readBoolean());
                    break;
                case ABORT: {
                    byte[] text = new byte[in.readInt()];
                    in.readBytes(text);
                    failed(peer, "aborted the group: " + new String(text, StandardCharsets.UTF_8));
                    break;
                }
                case GOODBYE:
                    goodbye = true;
                    break;
                default:
                    LOG.warn("group {} rank {}: unknown frame type {} from rank {}; closing the connection", group, rank(), type, peer);
                    ctx.close();
            }
            in.release();
        }

        /** Pulls a point-to-point payload into a buffer of this process at once and acknowledges it. */
        private void pullNow(ChannelHandlerContext ctx, long seq, byte opcode, long address, int length) {
            ByteBuf copy = ctx.alloc().directBuffer(length);
            try {
                ByteBuffer dst = copy.nioBuffer(0, length);
                Cma.read(pid(peer), address, dst);
                copy.writerIndex(length);
            } catch (java.io.IOException | RuntimeException e) {
                copy.release();
                failed(peer, "could not be read from by cross-memory attach: " + e.getMessage());
                return;
            }
            write(ctx.channel(), ctx.alloc().buffer(5).writeInt(1).writeByte(ACK));
            deliver(peer, new Inbound(seq, opcode, copy.nioBuffer(0, length), copy::release));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (closing) {
                return;
            }
            if (goodbye) {
                departed(peer, "closed its communicator");
            } else {
                failed(peer, "lost its connection (its process died or the network failed)");
            }
            LocalSender local = sender(peer);
            if (local != null) {
                // the peer will never confirm what it had yet to pull or free: fail those sends now (after
                // the failure above, which names the peer) rather than at the timeout
                local.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("group {} rank {}: connection to rank {} failed", group, rank(), peer, cause);
            ctx.close();
        }
    }
}
