package io.tessera.parallel.store;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rendezvous store's server, hosted by rank 0 (or by a launcher): an in-memory map served over
 * TCP with Netty. Every connection must first present the job token; a connection with a wrong or
 * missing token is refused, logged, and closed, and the job carries on.
 *
 * <p>All state lives on the server's single event-loop thread, so requests are applied in arrival
 * order without locks; a waiting {@code GET} or {@code WAIT} is parked there until its keys are set
 * or its timeout fires.
 *
 * <p>Thread safety: thread-safe; {@link #close()} may be called from any thread.
 */
public final class StoreServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StoreServer.class);

    private final String token;
    private final EventLoopGroup loop;
    private final Channel channel;
    private final Map<String, byte[]> data = new HashMap<>();
    private final Map<String, List<Waiter>> waiters = new HashMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    private StoreServer(InetSocketAddress bind, String token) {
        this.token = Objects.requireNonNull(token, "token");
        this.loop = new NioEventLoopGroup(1, new DefaultThreadFactory("tessera-store-server", true));
        try {
            this.channel = new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(StoreProtocol.MAX_FRAME, 0, 4, 0, 4),
                                    new LengthFieldPrepender(4), new Session());
                        }
                    }).bind(bind).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("store server: cannot listen on " + bind + ": " + e
                    + "; hint: is MASTER_PORT already in use (another job, or a stale process)?", e);
        }
        if (token.isEmpty()) {
            LOG.warn("store server on {} runs without a job token: any process that can reach it may join;"
                    + " set TESSERA_JOB_TOKEN on every rank", address());
        }
    }

    /**
     * Starts a server.
     *
     * @param bind address and port to listen on; port 0 picks a free port (see {@link #address()})
     * @param token the job token every client must present; empty accepts everyone
     * @return the running server
     */
    public static StoreServer start(InetSocketAddress bind, String token) {
        return new StoreServer(bind, token);
    }

    /** @return the address the server listens on */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** @return how many connections were refused for a wrong or missing token */
    public int refusedConnections() {
        return refused.get();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A parked GET or WAIT. */
    private static final class Waiter {
        final ChannelHandlerContext ctx;
        final int id;
        final String getKey;
        final Set<String> missing;
        ScheduledFuture<?> timer;

        Waiter(ChannelHandlerContext ctx, int id, String getKey, Set<String> missing) {
            this.ctx = ctx;
            this.id = id;
            this.getKey = getKey;
            this.missing = missing;
        }
    }

    /** One client connection. */
    private final class Session extends SimpleChannelInboundHandler<ByteBuf> {
        private boolean authenticated;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf in) {
            byte type = in.readByte();
            if (!authenticated) {
                String presented = type == StoreProtocol.HELLO ? StoreProtocol.readString(in) : null;
                if (presented == null || !StoreProtocol.tokenMatches(token, presented)) {
                    refused.incrementAndGet();
                    String why = presented == null ? "it sent no job token" : presented.isEmpty() ? "it presented no job token"
                            : "it presented a wrong job token";
                    LOG.warn("store server {}: refused connection from {}: {}; hint: every rank needs the same"
                            + " TESSERA_JOB_TOKEN", address(), ctx.channel().remoteAddress(), why);
                    ByteBuf out = ctx.alloc().buffer().writeByte(StoreProtocol.REFUSED);
                    StoreProtocol.writeString(out, "the store refused the connection: " + why);
                    ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                authenticated = true;
                ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(StoreProtocol.OK));
                return;
            }
            int id = in.readInt();
            switch (type) {
                case StoreProtocol.SET: {
                    String key = StoreProtocol.readString(in);
                    put(key, StoreProtocol.readBytes(in));
                    ctx.writeAndFlush(ctx.alloc().buffer(5).writeByte(StoreProtocol.OK).writeInt(id));
                    break;
                }
                case StoreProtocol.GET: {
                    long timeoutMs = in.readLong();
                    String key = StoreProtocol.readString(in);
                    byte[] v = data.get(key);
                    if (v != null) {
                        reply(ctx, id, v);
                    } else {
                        park(new Waiter(ctx, id, key, new HashSet<>(List.of(key))), timeoutMs);
                    }
                    break;
                }
                case StoreProtocol.WAIT: {
                    long timeoutMs = in.readLong();
                    int count = in.readInt();
                    Set<String> missing = new HashSet<>();
                    for (int i = 0; i < count; i++) {
                        String key = StoreProtocol.readString(in);
                        if (!data.containsKey(key)) {
                            missing.add(key);
                        }
                    }
                    if (missing.isEmpty()) {
                        ctx.writeAndFlush(ctx.alloc().buffer(5).writeByte(StoreProtocol.OK).writeInt(id));
                    } else {
                        park(new Waiter(ctx, id, null, missing), timeoutMs);
                    }
                    break;
                }
                case StoreProtocol.ADD: {
                    String key = StoreProtocol.readString(in);
                    long delta = in.readLong();
                    byte[] old = data.get(key);
                    long value = (old == null ? 0 : Long.parseLong(new String(old, StandardCharsets.UTF_8))) + delta;
                    byte[] now = Long.toString(value).getBytes(StandardCharsets.UTF_8);
                    put(key, now);
                    reply(ctx, id, now);
                    break;
                }
                case StoreProtocol.CAS: {
                    String key = StoreProtocol.readString(in);
                    byte[] expected = StoreProtocol.readBytes(in);
                    byte[] desired = StoreProtocol.readBytes(in);
                    byte[] current = data.get(key);
                    if (current == null ? expected == null : expected != null && java.util.Arrays.equals(current, expected)) {
                        put(key, desired);
                        current = desired;
                    }
                    reply(ctx, id, current);
                    break;
                }
                default:
                    LOG.warn("store server {}: unknown request type {} from {}; closing the connection", address(), type,
                            ctx.channel().remoteAddress());
                    ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.warn("store server {}: connection from {} failed: {}", address(), ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private void reply(ChannelHandlerContext ctx, int id, byte[] value) {
        ByteBuf out = ctx.alloc().buffer().writeByte(StoreProtocol.VALUE).writeInt(id);
        StoreProtocol.writeBytes(out, value);
        ctx.writeAndFlush(out);
    }

    private void park(Waiter w, long timeoutMs) {
        for (String key : w.missing) {
            waiters.computeIfAbsent(key, k -> new ArrayList<>()).add(w);
        }
        w.timer = w.ctx.executor().schedule(() -> {
            for (String key : w.missing) {
                List<Waiter> list = waiters.get(key);
                if (list != null) {
                    list.remove(w);
                }
            }
            w.ctx.writeAndFlush(w.ctx.alloc().buffer(5).writeByte(StoreProtocol.TIMEOUT).writeInt(w.id));
        }, timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void put(String key, byte[] value) {
        data.put(key, value);
        List<Waiter> list = waiters.remove(key);
        if (list == null) {
            return;
        }
        for (Waiter w : list) {
            w.missing.remove(key);
            if (w.missing.isEmpty()) {
                w.timer.cancel(false);
                if (w.getKey != null) {
                    reply(w.ctx, w.id, data.get(w.getKey));
                } else {
                    w.ctx.writeAndFlush(w.ctx.alloc().buffer(5).writeByte(StoreProtocol.OK).writeInt(w.id));
                }
            }
        }
    }
}
