package io.tessera.parallel.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class NettyEndpointTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void aPeerWithAWrongTokenIsRefusedAndTheGroupStillForms() throws Exception {
        CommOptions options = CommOptions.defaults().withTimeout(Duration.ofSeconds(10));
        try (NettyEndpoint rank0 = new NettyEndpoint(0, "right", LOOPBACK, 1, options);
                NettyEndpoint intruder = new NettyEndpoint(1, "wrong", LOOPBACK, 1, options);
                NettyEndpoint rank1 = new NettyEndpoint(1, "right", LOOPBACK, 1, options)) {
            int[] members = {0, 1};
            rank0.register("world", members);
            intruder.register("world", members);
            rank1.register("world", members);
            InetSocketAddress at0 = new InetSocketAddress(LOOPBACK, rank0.port());

            CommunicationException e = assertThrows(CommunicationException.class, () -> intruder.connect(r -> at0));
            assertTrue(e.getMessage().contains("refused the connection: it presented a wrong job token"), e.getMessage());
            assertEquals(1, rank0.refusedConnections());

            CompletableFuture<Map<String, RingCommunicator>> first = CompletableFuture.supplyAsync(() -> rank0.connect(r -> at0));
            Map<String, RingCommunicator> second = rank1.connect(r -> at0);
            try (RingCommunicator c0 = first.get().get("world[0,1]"); RingCommunicator c1 = second.get("world[0,1]")) {
                ByteBuffer a = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 40);
                ByteBuffer b = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 2);
                Work w = c0.allReduceAsync(a, ElementType.INT64, ReduceOp.SUM);
                c1.allReduce(b, ElementType.INT64, ReduceOp.SUM);
                w.await();
                assertEquals(42, a.getLong(0));
                assertEquals(42, b.getLong(0));
            }
        }
    }

    @Test
    void aPeerThatDiesBeforeTakingDeliveryFailsTheSenderAtOnce() throws Exception {
        CommOptions options = CommOptions.defaults().withTimeout(Duration.ofSeconds(30));
        NettyEndpoint rank1 = new NettyEndpoint(1, "t", LOOPBACK, 1, options);
        try (NettyEndpoint rank0 = new NettyEndpoint(0, "t", LOOPBACK, 1, options)) {
            int[] members = {0, 1};
            rank0.register("world", members);
            rank1.register("world", members);
            InetSocketAddress at0 = new InetSocketAddress(LOOPBACK, rank0.port());
            CompletableFuture<Map<String, RingCommunicator>> first = CompletableFuture.supplyAsync(() -> rank0.connect(r -> at0));
            rank1.connect(r -> at0);
            try (RingCommunicator c0 = first.get().get("world[0,1]")) {
                // rank 1 never calls the broadcast: rank 0's data waits for a delivery that cannot come
                Work w = c0.broadcastAsync(ByteBuffer.allocateDirect(1 << 20), 0);
                Thread.sleep(300);
                long died = System.nanoTime();
                rank1.close();                  // its connections close without a goodbye, as when a process dies
                CommunicationException e = assertThrows(CommunicationException.class, w::await);
                double seconds = (System.nanoTime() - died) / 1e9;
                assertTrue(seconds < 10, "the sender noticed the dead peer only after " + seconds + " s: " + e.getMessage());
                assertTrue(e.getMessage().contains("broadcast #1") && e.getMessage().contains("group world[0,1] at rank 0"),
                        e.getMessage());
                assertTrue(e.getMessage().contains("rank 1 (world rank 1) lost its connection"), e.getMessage());
            }
        }
    }
}
