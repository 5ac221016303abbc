package io.tessera.parallel.store;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tessera.parallel.comm.CommunicationException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A client of {@link StoreServer}: one TCP connection, on which requests are multiplexed by id.
 * Connecting retries until the server is up or the timeout passes (rank 0 may start after the
 * others); a refused token fails at once.
 *
 * <p>Thread safety: thread-safe.
 */
public final class TcpStore implements Store {

    private static final long GRACE_MS = 2000;

    private final InetSocketAddress server;
    private final int rank;
    private final Duration timeout;
    private final EventLoopGroup loop;
    private final Channel channel;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<Response>> pending = new ConcurrentHashMap<>();
    private final CompletableFuture<Response> hello = new CompletableFuture<>();
    private volatile String lost;

    /** A decoded reply. */
    private static final class Response {
        final byte type;
        final byte[] value;

        Response(byte type, byte[] value) {
            this.type = type;
            this.value = value;
        }
    }

    private TcpStore(InetSocketAddress server, String token, int rank, Duration timeout) {
        this.server = server;
        this.rank = rank;
        this.timeout = timeout;
        this.loop = new NioEventLoopGroup(1, new DefaultThreadFactory("tessera-store-r" + rank, true));
        try {
            this.channel = connectWithRetry();
            ByteBuf out = channel.alloc().buffer().writeByte(StoreProtocol.HELLO);
            StoreProtocol.writeString(out, token);
            channel.writeAndFlush(out);
            Response r = await(hello, timeout.toMillis(), "handshake");
            if (r.type == StoreProtocol.REFUSED) {
                throw new CommunicationException("store " + server + " refused rank " + rank + ": "
                        + new String(r.value, StandardCharsets.UTF_8) + "; hint: set TESSERA_JOB_TOKEN to the job's token on"
                        + " every rank");
            }
        } catch (RuntimeException e) {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /**
     * Connects to a store server, retrying until it is up.
     *
     * @param server the server's address
     * @param token the job token
     * @param rank this rank, for messages
     * @param timeout bound on connecting and on every waiting call
     * @return a connected store
     * @throws CommunicationException if the server is unreachable within the timeout or refuses the token
     */
    public static TcpStore connect(InetSocketAddress server, String token, int rank, Duration timeout) {
        Objects.requireNonNull(token, "token");
        return new TcpStore(server, token, rank, timeout);
    }

    /** @return the local address of the connection: an address of this host that the store's host can reach */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public Duration timeout() {
        return timeout;
    }

    @Override
    public void set(String key, byte[] value) {
        Objects.requireNonNull(value, "value");
        call(StoreProtocol.SET, "set('" + key + "')", timeout.toMillis(), out -> {
            StoreProtocol.writeString(out, key);
            StoreProtocol.writeBytes(out, value);
        });
    }

    @Override
    public byte[] get(String key) {
        long ms = timeout.toMillis();
        return call(StoreProtocol.GET, "get('" + key + "')", ms, out -> {
            out.writeLong(ms);
            StoreProtocol.writeString(out, key);
        }).value;
    }

    @Override
    public void await(List<String> keys, Duration waitFor) {
        long ms = waitFor.toMillis();
        String what = keys.size() == 1 ? "wait('" + keys.get(0) + "')" : "wait for " + keys.size() + " keys " + abbreviate(keys);
        call(StoreProtocol.WAIT, what, ms, out -> {
            out.writeLong(ms);
            out.writeInt(keys.size());
            keys.forEach(k -> StoreProtocol.writeString(out, k));
        });
    }

    @Override
    public long add(String key, long delta) {
        byte[] v = call(StoreProtocol.ADD, "add('" + key + "')", timeout.toMillis(), out -> {
            StoreProtocol.writeString(out, key);
            out.writeLong(delta);
        }).value;
        return Long.parseLong(new String(v, StandardCharsets.UTF_8));
    }

    @Override
    public byte[] compareAndSet(String key, byte[] expected, byte[] desired) {
        return call(StoreProtocol.CAS, "compareAndSet('" + key + "')", timeout.toMillis(), out -> {
            StoreProtocol.writeString(out, key);
            StoreProtocol.writeBytes(out, expected);
            StoreProtocol.writeBytes(out, desired);
        }).value;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private Response call(byte type, String what, long waitMs, Consumer<ByteBuf> body) {
        String gone = lost;
        if (gone != null) {
            throw new CommunicationException("store " + what + " at rank " + rank + ": " + gone);
        }
        int id = ids.incrementAndGet();
        CompletableFuture<Response> f = new CompletableFuture<>();
        pending.put(id, f);
        ByteBuf out = channel.alloc().buffer().writeByte(type).writeInt(id);
        body.accept(out);
        channel.writeAndFlush(out);
        try {
            Response r = await(f, waitMs + GRACE_MS, what);
            if (r.type == StoreProtocol.TIMEOUT) {
                throw new CommunicationException("store " + what + " at rank " + rank + " timed out after " + waitMs / 1000.0
                        + " s on " + server + "; hint: the rank that should set it has not started, has failed, or the"
                        + " timeout is too short");
            }
            return r;
        } finally {
            pending.remove(id);
        }
    }

    private Response await(CompletableFuture<Response> f, long ms, String what) {
        try {
            return f.get(ms, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new CommunicationException("store " + what + " at rank " + rank + ": no answer from " + server + " within "
                    + ms / 1000.0 + " s; hint: the store's host (rank 0) may be stalled or unreachable", e);
        } catch (ExecutionException e) {
            throw new CommunicationException("store " + what + " at rank " + rank + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommunicationException("store " + what + " at rank " + rank + ": interrupted", e);
        }
    }

    private Channel connectWithRetry() {
        long deadline = System.nanoTime() + timeout.toNanos();
        Bootstrap b = new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(5000, Math.max(1, timeout.toMillis())))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(StoreProtocol.MAX_FRAME, 0, 4, 0, 4),
                                new LengthFieldPrepender(4), new Replies());
                    }
                });
        Throwable last = null;
        while (System.nanoTime() < deadline) {
            io.netty.channel.ChannelFuture cf = b.connect(server).awaitUninterruptibly();
            if (cf.isSuccess()) {
                return cf.channel();
            }
            last = cf.cause();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommunicationException("rank " + rank + ": interrupted while connecting to the store " + server, e);
            }
        }
        throw new CommunicationException("rank " + rank + " could not reach the store at " + server + " within "
                + timeout.toSeconds() + " s (last error: " + last + "); hint: check MASTER_ADDR and MASTER_PORT and that"
                + " rank 0 is running", last);
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 4 ? keys.toString() : keys.subList(0, 4) + "...";
    }

    /** Completes the pending calls as replies arrive. */
    private final class Replies extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf in) {
            byte type = in.readByte();
            if (type == StoreProtocol.OK && in.readableBytes() == 0) {
                hello.complete(new Response(type, null));
                return;
            }
            if (type == StoreProtocol.REFUSED) {
                hello.complete(new Response(type, StoreProtocol.readBytes(in)));
                return;
            }
            int id = in.readInt();
            byte[] value = type == StoreProtocol.VALUE ? StoreProtocol.readBytes(in) : null;
            CompletableFuture<Response> f = pending.get(id);
            if (f != null) {
                f.complete(new Response(type, value));
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            lost = "the connection to the store " + server + " was lost (the store's host, rank 0, may have exited)";
            CommunicationException e = new CommunicationException(lost);
            hello.completeExceptionally(e);
            pending.values().forEach(f -> f.completeExceptionally(e));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
