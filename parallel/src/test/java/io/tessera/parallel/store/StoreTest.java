package io.tessera.parallel.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.comm.CommunicationException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StoreTest {

    private static final String TOKEN = "s3cret";
    private StoreServer server;

    @BeforeEach
    void start() {
        server = StoreServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), TOKEN);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private TcpStore client(int rank, String token, Duration timeout) {
        return TcpStore.connect(server.address(), token, rank, timeout);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void setGetAwaitAddAndCompareAndSet() throws Exception {
        try (TcpStore a = client(0, TOKEN, Duration.ofSeconds(10)); TcpStore b = client(1, TOKEN, Duration.ofSeconds(10))) {
            a.set("k", utf8("v1"));
            assertArrayEquals(utf8("v1"), b.get("k"));

            CompletableFuture<byte[]> later = CompletableFuture.supplyAsync(() -> b.get("late"));
            Thread.sleep(200);
            assertTrue(!later.isDone(), "get returned before the key was set");
            a.set("late", utf8("here"));
            assertArrayEquals(utf8("here"), later.get());

            CompletableFuture<Void> both = CompletableFuture.runAsync(() -> b.await(List.of("x", "y"), Duration.ofSeconds(5)));
            a.set("x", utf8("1"));
            Thread.sleep(100);
            assertTrue(!both.isDone(), "await returned with a key missing");
            a.set("y", utf8("2"));
            both.get();

            CompletableFuture<Void> adds = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 100; i++) {
                    b.add("counter", 1);
                }
            });
            for (int i = 0; i < 100; i++) {
                a.add("counter", 2);
            }
            adds.get();
            assertEquals(300, a.add("counter", 0));

            assertArrayEquals(utf8("first"), a.compareAndSet("cas", null, utf8("first")));
            assertArrayEquals(utf8("first"), b.compareAndSet("cas", null, utf8("second")));
            assertArrayEquals(utf8("first"), b.compareAndSet("cas", utf8("nope"), utf8("second")));
            assertArrayEquals(utf8("second"), b.compareAndSet("cas", utf8("first"), utf8("second")));
            assertNull(a.compareAndSet("absent", utf8("x"), utf8("y")));
        }
    }

    @Test
    void waitingCallsTimeOutNamingTheKey() {
        try (TcpStore a = client(3, TOKEN, Duration.ofMillis(800))) {
            long start = System.nanoTime();
            CommunicationException e = assertThrows(CommunicationException.class, () -> a.get("never"));
            assertTrue(e.getMessage().startsWith("store get('never') at rank 3 timed out after 0.8 s"), e.getMessage());
            e = assertThrows(CommunicationException.class, () -> a.await(List.of("p", "q"), Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("wait for 2 keys [p, q] at rank 3 timed out"), e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
            a.set("after", utf8("still usable"));
            assertArrayEquals(utf8("still usable"), a.get("after"));
        }
    }

    @Test
    void aWrongOrMissingTokenIsRefusedAndTheStoreCarriesOn() {
        CommunicationException wrong = assertThrows(CommunicationException.class, () -> client(5, "guess", Duration.ofSeconds(5)));
        assertTrue(wrong.getMessage().contains("refused rank 5") && wrong.getMessage().contains("wrong job token"), wrong.getMessage());
        CommunicationException missing = assertThrows(CommunicationException.class, () -> client(6, "", Duration.ofSeconds(5)));
        assertTrue(missing.getMessage().contains("no job token"), missing.getMessage());
        assertEquals(2, server.refusedConnections());
        try (TcpStore ok = client(0, TOKEN, Duration.ofSeconds(5))) {
            ok.set("alive", utf8("yes"));
            assertArrayEquals(utf8("yes"), ok.get("alive"));
        }
    }

    @Test
    void anUnreachableStoreFailsWithinTheTimeout() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        CommunicationException e = assertThrows(CommunicationException.class, () -> TcpStore.connect(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TOKEN, 2, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().startsWith("rank 2 could not reach the store"), e.getMessage());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }
}
