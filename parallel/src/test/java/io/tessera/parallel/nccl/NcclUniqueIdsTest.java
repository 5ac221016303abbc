package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.store.StoreServer;
import io.tessera.parallel.store.TcpStore;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ncclUniqueId exchange through the real store, with ranks as threads of a {@link LocalCluster}. */
class NcclUniqueIdsTest {

    private static final String TOKEN = "nccl-test";
    private StoreServer server;

    @BeforeEach
    void start() {
        server = StoreServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), TOKEN);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private TcpStore store(int rank, Duration timeout) {
        return TcpStore.connect(server.address(), TOKEN, rank, timeout);
    }

    @Test
    void rankZeroCreatesTheIdOnceAndEveryRankReadsTheSameBytes() {
        byte[] id = new byte[NcclUniqueIds.BYTES];
        new SecureRandom().nextBytes(id);
        AtomicInteger created = new AtomicInteger();
        List<byte[]> got = LocalCluster.of(ParallelLayout.of(4, 1, 1)).withBackend(LocalCluster.Backend.IN_PROCESS)
                .withTimeout(Duration.ofSeconds(30)).run(ctx -> {
                    try (TcpStore s = store(ctx.rank(), Duration.ofSeconds(10))) {
                        return NcclUniqueIds.exchange(s, "dp[0,1,2,3]", ctx.rank(), () -> {
                            created.incrementAndGet();
                            return id.clone();
                        });
                    }
                });
        assertEquals(1, created.get());
        for (byte[] g : got) {
            assertArrayEquals(id, g);
        }
    }

    @Test
    void groupsUseTheirOwnKeys() {
        assertEquals("tessera/nccl/tp[0,1]/unique-id", NcclUniqueIds.key("tp[0,1]"));
        try (TcpStore s = store(0, Duration.ofSeconds(5))) {
            byte[] a = NcclUniqueIds.exchange(s, "tp[0,1]", 0, () -> filled(1));
            byte[] b = NcclUniqueIds.exchange(s, "tp[2,3]", 0, () -> filled(2));
            assertArrayEquals(a, NcclUniqueIds.exchange(s, "tp[0,1]", 1, () -> filled(9)));
            assertArrayEquals(b, NcclUniqueIds.exchange(s, "tp[2,3]", 1, () -> filled(9)));
        }
    }

    @Test
    void aMissingRankZeroFailsWithinTheStoreTimeoutNamingTheGroup() {
        long start = System.nanoTime();
        try (TcpStore s = store(1, Duration.ofMillis(300))) {
            CommunicationException e = assertThrows(CommunicationException.class,
                    () -> NcclUniqueIds.exchange(s, "dp[4,5]", 1, () -> filled(0)));
            assertTrue(e.getMessage().contains("dp[4,5]") && e.getMessage().contains("rank 1")
                    && e.getMessage().contains("300 ms"), e.getMessage());
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }

    @Test
    void aValueThatIsNotAnIdIsRejected() {
        try (TcpStore s = store(1, Duration.ofSeconds(5))) {
            s.set(NcclUniqueIds.key("world[0,1]"), new byte[] {1, 2, 3});
            CommunicationException e = assertThrows(CommunicationException.class,
                    () -> NcclUniqueIds.exchange(s, "world[0,1]", 1, () -> filled(0)));
            assertTrue(e.getMessage().contains("3 bytes") && e.getMessage().contains("128"), e.getMessage());
            assertThrows(CommunicationException.class, () -> NcclUniqueIds.exchange(s, "x", 0, () -> new byte[12]));
        }
    }

    private static byte[] filled(int v) {
        byte[] b = new byte[NcclUniqueIds.BYTES];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }
}
