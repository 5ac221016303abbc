package io.tessera.parallel.comm;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tessera.core.Torch;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank's network presence for the Netty backend: an event loop, a listening socket, and the
 * groups it belongs to. Groups are registered before the endpoint's address is published (so a peer
 * that dials in always finds its group), then {@link #connect} dials the lower-ranked member of every
 * pair, accepts the higher-ranked ones, and returns a {@link RingCommunicator} per group.
 *
 * <pre>{@code
 * NettyEndpoint ep = new NettyEndpoint(worldRank, token, InetAddress.getLoopbackAddress(), 1);
 * ep.register("world", allRanks);  ep.register("tp", myTensorGroup);
 * store.set("addr/" + worldRank, ...ep.port()...);                 // publish, then read the others'
 * Map<String, RingCommunicator> comms = ep.connect(r -> addressOf(r), CommOptions.defaults());
 * }</pre>
 *
 * <p>Every connection opens with {@code HELLO(token, group, group rank, host, ring)}; a wrong or missing
 * token, or an unknown group, is refused with a reason, logged, and closed, and the endpoint carries
 * on. When both ends run on the same host (same boot id and host name) and shared memory is enabled,
 * collective data bypasses TCP. Each end offers a {@link ShmRing} for the data it will receive and the
 * address of a random probe in its memory: the dialer in {@code HELLO}; the acceptor maps the dialer's
 * ring, tries to read its probe by cross-memory attach ({@link Cma}) and answers
 * {@code OK(local, mapped, ring, pid, probe readable, probe)}; the dialer reads the acceptor's probe and
 * decides: cross-memory attach if both probes were read (one copy per chunk), else the rings (a
 * direction whose ring cannot be mapped uses TCP); it tells the acceptor with {@code SHM_MAPPED}, and
 * only then does the acceptor count the peer as connected. Once a group is connected its members tell
 * each other whether they reach every peer by cross-memory attach ({@code LINKS}), so that all of them
 * agree on whether the group reads in place. Ring files are unlinked as soon as both ends
 * have them mapped. Anyone holding the job token is trusted as far as this goes: a peer names the
 * process and addresses it is read from.
 *
 * <p>One file on purpose: the server, the client connections and the handshake share the endpoint's
 * peer table and its lifecycle (connect, authenticate, fail, close).
 *
 * <p>Thread safety: thread-safe. Close the communicators before the endpoint.
 */
public final class NettyEndpoint implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NettyEndpoint.class);

    static final byte HELLO = 10;
    static final byte OK = 11;
    static final byte REFUSED = 12;
    /** Largest frame: a chunk plus its header; chunks are at most 1 GiB. */
    private static final int MAX_FRAME = (1 << 30) + 64;
    private static final int SOCKET_BUFFER = 4 << 20;
    /**
     * Bytes per shared-memory ring (one direction of one pair), cut into slots of
     * {@link CommOptions#chunkBytes()}: deep enough that a sender rarely waits for a slot to come back.
     */
    static final int RING_BYTES = 16 << 20;

    private final int worldRank;
    private final String token;
    private final CommOptions options;
    private final String host;
    private final int ringSlots;
    /** Eight random bytes a peer reads by cross-memory attach to prove that it may. */
    private final ByteBuffer probe = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private final EventLoopGroup loop;
    private final Channel server;
    private final Map<String, NettyTransport> groups = new ConcurrentHashMap<>();
    private final Map<String, NettyTransport> unconnected = new LinkedHashMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    /**
     * Starts listening on an ephemeral port.
     *
     * @param worldRank this rank, for messages and thread names
     * @param token the job token peers must present (empty: none)
     * @param bindHost the interface to listen on
     * @param ioThreads Netty event-loop threads
     * @param options timeout, chunk size and shared-memory use of every group of this endpoint; the
     *     same on every rank
     */
    public NettyEndpoint(int worldRank, String token, InetAddress bindHost, int ioThreads, CommOptions options) {
        this.worldRank = worldRank;
        this.token = Objects.requireNonNull(token, "token");
        this.options = Objects.requireNonNull(options, "options");
        this.host = hostIdentity();
        this.ringSlots = Math.max(4, Math.min(64, RING_BYTES / options.chunkBytes()));
        probe.putLong(0, new SecureRandom().nextLong());
        if (ioThreads < 1) {
            throw new IllegalArgumentException("netty endpoint of rank " + worldRank + ": ioThreads = " + ioThreads
                    + " must be at least 1");
        }
        this.loop = new NioEventLoopGroup(ioThreads, new DefaultThreadFactory("tessera-io-r" + worldRank, true) {
            @Override
            protected Thread newThread(Runnable r, String name) {
                // ring plans reduce on this thread: libtorch's grad mode is per thread and starts on, and
                // its kernels must stay on this thread (SerialTorch)
                return super.newThread(() -> {
                    Torch.GradMode noGrad = Torch.gradMode(false);
                    SerialTorch.pinCurrentThread();
                    try {
                        r.run();
                    } finally {
                        noGrad.close();
                    }
                }, name);
            }
        });
        try {
            this.server = new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                    .childOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4), new Accepting());
                        }
                    }).bind(new InetSocketAddress(bindHost, 0)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("netty endpoint of rank " + worldRank + ": cannot listen on " + bindHost + ": " + e, e);
        }
    }

    /** @return the port this endpoint listens on */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** @return how many incoming connections were refused (wrong token, unknown group) */
    public int refusedConnections() {
        return refused.get();
    }

    /**
     * Registers a group this rank belongs to. Call for every group before publishing the address.
     *
     * @param kind the group's kind, e.g. {@code world}, {@code tp}
     * @param worldRanks the members, in group-rank order; must include this rank
     * @return the group's name
     */
    public synchronized String register(String kind, int[] worldRanks) {
        int me = -1;
        for (int i = 0; i < worldRanks.length; i++) {
            if (worldRanks[i] == worldRank) {
                me = i;
            }
        }
        String name = GroupName.of(kind, worldRanks);
        if (me < 0) {
            throw new IllegalArgumentException("netty endpoint: rank " + worldRank + " is not a member of group " + name);
        }
        NettyTransport t = new NettyTransport(name, me, worldRanks);
        if (groups.putIfAbsent(name, t) != null) {
            throw new IllegalArgumentException("netty endpoint of rank " + worldRank + ": group " + name + " is already registered");
        }
        unconnected.put(name, t);
        return name;
    }

    /**
     * Connects every registered group: dials the lower-ranked members, waits for the higher-ranked ones.
     *
     * @param addressOf the listening address of a world rank
     * @return a communicator per group name, in registration order; the options' timeout bounds the
     *     whole connection phase
     * @throws CommunicationException naming the group and the ranks that did not connect in time
     */
    public synchronized Map<String, RingCommunicator> connect(IntFunction<InetSocketAddress> addressOf) {
        long deadline = System.nanoTime() + options.timeout().toNanos();
        List<CompletableFuture<String>> dials = new ArrayList<>();
        for (NettyTransport t : unconnected.values()) {
            int[] members = t.worldRanks();
            for (int peer = 0; peer < t.rank(); peer++) {
                dials.add(dial(t, peer, addressOf.apply(members[peer])));
            }
        }
        for (CompletableFuture<String> d : dials) {
            String problem;
            try {
                problem = d.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                problem = "a peer did not answer the handshake within " + options.timeout().toSeconds() + " s";
            } catch (ExecutionException e) {
                problem = e.getCause().toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problem = "interrupted";
            }
            if (problem != null) {
                throw new CommunicationException("rank " + worldRank + " could not connect: " + problem
                        + "; hint: check that every rank uses the same TESSERA_JOB_TOKEN and that the hosts can reach each other");
            }
        }
        Map<String, RingCommunicator> out = new LinkedHashMap<>();
        for (NettyTransport t : unconnected.values()) {
            try {
                if (!t.awaitConnected(Math.max(0, deadline - System.nanoTime()))) {
                    throw new CommunicationException("connecting group " + t.group() + " at rank " + t.rank() + " (world rank "
                            + worldRank + "): no connection within " + options.timeout().toSeconds() + " s from rank(s) "
                            + t.unconnected() + "; hint: those ranks have not started, failed, or cannot reach this host");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommunicationException("connecting group " + t.group() + " at world rank " + worldRank + ": interrupted", e);
            }
            try {
                if (!t.agreeOnLinks(Math.max(0, deadline - System.nanoTime()))) {
                    throw new CommunicationException("connecting group " + t.group() + " at rank " + t.rank() + " (world rank "
                            + worldRank + "): not every peer said how it reaches the others within " + options.timeout().toSeconds()
                            + " s; hint: a peer failed while the group was forming");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommunicationException("connecting group " + t.group() + " at world rank " + worldRank + ": interrupted", e);
            }
            out.put(t.group(), new RingCommunicator(t.group(), t.worldRanks(), t.rank(), t, options));
            LOG.debug("rank {}: group {} connected; data to each peer goes by {}", worldRank, t.group(), t.links());
        }
        unconnected.clear();
        return out;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Dials one lower-ranked peer; completes with null when accepted, or with the reason it was not. */
    private CompletableFuture<String> dial(NettyTransport t, int peer, InetSocketAddress address) {
        CompletableFuture<String> result = new CompletableFuture<>();
        ShmRing ring = options.sameHost() != CommOptions.SameHost.TCP ? createRing() : null;
        result.whenComplete((problem, e) -> {
            if (ring != null && (problem != null || e != null)) {
                ring.unlink();
                ring.unmap();
            }
        });
        Bootstrap b = new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.timeout().toMillis()))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4),
                                new Dialing(t, peer, ring, result));
                    }
                });
        b.connect(address).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                result.complete("group " + t.group() + ": cannot reach rank " + peer + " at " + address + ": " + f.cause());
                return;
            }
            ByteBuf hello = f.channel().alloc().buffer().writeInt(0).writeByte(HELLO);
            writeString(hello, token);
            writeString(hello, t.group());
            hello.writeInt(t.rank());
            writeString(hello, host);
            writeString(hello, ring == null ? "" : ring.path());
            hello.writeInt(ringSlots).writeInt(options.chunkBytes());
            hello.writeLong(Cma.pid()).writeLong(Cma.address(probe)).writeLong(probe.getLong(0));
            hello.setInt(0, hello.readableBytes() - 4);
            f.channel().writeAndFlush(hello);
        });
        return result;
    }

    /** The dialing side of a handshake. */
    private final class Dialing extends ChannelInboundHandlerAdapter {
        private final NettyTransport transport;
        private final int peer;
        private final ShmRing ring;
        private final CompletableFuture<String> result;

        Dialing(NettyTransport transport, int peer, ShmRing ring, CompletableFuture<String> result) {
            this.transport = transport;
            this.peer = peer;
            this.ring = ring;
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                byte type = in.readByte();
                if (type == OK) {
                    boolean local = in.readBoolean();
                    boolean ringMapped = in.readBoolean();
                    String theirs = readString(in);
                    long pid = in.readLong();
                    boolean cma = in.readBoolean() && probe(pid, in.readLong(), in.readLong());
                    ShmRing out = theirs.isEmpty() || cma ? null : openRing(theirs);
                    ShmRing mine = ring;
                    if (mine != null) {
                        mine.unlink();
                        if (!ringMapped || cma) {
                            mine.unmap();
                            mine = null;
                        }
                    }
                    LocalSender link = cma ? new CmaSender(ctx.channel()) : out != null ? new ShmSender(out, ctx.channel()) : null;
                    ctx.pipeline().remove(this);
                    String problem = transport.attach(peer, ctx.channel(), link, mine, pid, true);
                    if (problem != null) {
                        ctx.close();
                    } else if (local) {
                        ctx.writeAndFlush(ctx.alloc().buffer(7).writeInt(3).writeByte(NettyTransport.SHM_MAPPED)
                                .writeBoolean(out != null).writeBoolean(cma));
                    }
                    result.complete(problem);
                } else {
                    String reason = type == REFUSED ? readString(in) : "unexpected handshake frame " + type;
                    result.complete("group " + transport.group() + ": rank " + peer + " refused the connection: " + reason);
                    ctx.close();
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.complete("group " + transport.group() + ": rank " + peer + " closed the connection during the handshake");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.complete("group " + transport.group() + ": connection to rank " + peer + " failed: " + cause);
            ctx.close();
        }
    }

    /** The accepting side of a handshake. */
    private final class Accepting extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                String problem;
                if (in.readByte() != HELLO) {
                    problem = "it did not open with a handshake";
                } else {
                    String presented = readString(in);
                    String group = readString(in);
                    int from = in.readInt();
                    String peerHost = readString(in);
                    String offered = readString(in);
                    int slots = in.readInt();
                    int slotBytes = in.readInt();
                    long peerPid = in.readLong();
                    long peerProbe = in.readLong();
                    long peerMagic = in.readLong();
                    NettyTransport t = groups.get(group);
                    if (!MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8))) {
                        problem = presented.isEmpty() ? "it presented no job token" : "it presented a wrong job token";
                    } else if (t == null) {
                        problem = "this rank is not in group " + group;
                    } else if (from <= t.rank()) {
                        problem = "in group " + group + " rank " + from + " must be dialed by rank " + t.rank() + ", not dial it";
                    } else {
                        boolean local = options.sameHost() != CommOptions.SameHost.TCP && host.equals(peerHost);
                        ShmRing out = local && !offered.isEmpty() && slots == ringSlots && slotBytes == options.chunkBytes()
                                ? openRing(offered) : null;
                        ShmRing mine = local ? createRing() : null;
                        boolean canPull = local && probe(peerPid, peerProbe, peerMagic);
                        LocalSender link = out == null ? null : new ShmSender(out, ctx.channel());
                        ctx.pipeline().remove(this);
                        problem = t.attach(from, ctx.channel(), link, mine, peerPid, !local);
                        if (problem == null) {
                            ByteBuf ok = ctx.alloc().buffer().writeInt(0).writeByte(OK).writeBoolean(local).writeBoolean(out != null);
                            writeString(ok, mine == null ? "" : mine.path());
                            ok.writeLong(Cma.pid()).writeBoolean(canPull).writeLong(Cma.address(probe)).writeLong(probe.getLong(0));
                            ok.setInt(0, ok.readableBytes() - 4);
                            ctx.writeAndFlush(ok);
                            return;
                        }
                        if (link != null) {
                            link.unmap();
                        }
                        if (mine != null) {
                            mine.unlink();
                            mine.unmap();
                        }
                    }
                }
                refused.incrementAndGet();
                LOG.warn("rank {} refused a connection from {}: {}; hint: every rank needs the same TESSERA_JOB_TOKEN",
                        worldRank, ctx.channel().remoteAddress(), problem);
                byte[] text = problem.getBytes(StandardCharsets.UTF_8);
                ctx.writeAndFlush(ctx.alloc().buffer().writeInt(5 + text.length).writeByte(REFUSED).writeInt(text.length)
                        .writeBytes(text)).addListener(ChannelFutureListener.CLOSE);
            } catch (IndexOutOfBoundsException e) {
                refused.incrementAndGet();
                LOG.warn("rank {} refused a connection from {}: malformed handshake", worldRank, ctx.channel().remoteAddress());
                ctx.close();
            } finally {
                in.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** @return whether this process may read the peer's probe by cross-memory attach, and reads the right value */
    private boolean probe(long pid, long address, long expected) {
        if (options.sameHost() != CommOptions.SameHost.CROSS_MEMORY || !Cma.available()) {
            return false;
        }
        ByteBuffer got = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        try {
            Cma.read(pid, address, got);
            return got.getLong(0) == expected;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("rank {}: cross-memory attach to process {} is not permitted ({}); using shared-memory rings",
                    worldRank, pid, e.toString());
            return false;
        }
    }

    private ShmRing createRing() {
        if (!ShmRing.available()) {
            return null;
        }
        try {
            return ShmRing.create("tessera-r" + worldRank + "-", ringSlots, options.chunkBytes());
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("rank {}: no shared-memory ring ({}); using TCP", worldRank, e.toString());
            return null;
        }
    }

    private ShmRing openRing(String path) {
        try {
            return ShmRing.open(path, ringSlots, options.chunkBytes());
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("rank {}: cannot map the peer's ring {} ({}); using TCP", worldRank, path, e.toString());
            return null;
        }
    }

    /** @return what identifies this host: the kernel's boot id and the host name */
    private static String hostIdentity() {
        String boot;
        try {
            boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (java.io.IOException e) {
            boot = "no-boot-id";
        }
        String name;
        try {
            name = InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            name = "unknown-host";
        }
        return boot + "/" + name;
    }

    private static void writeString(ByteBuf out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length).writeBytes(b);
    }

    private static String readString(ByteBuf in) {
        byte[] b = new byte[in.readInt()];
        in.readBytes(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
