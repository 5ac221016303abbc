package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.store.StoreServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Heartbeats over a loopback store: a silent rank is named within the timeout, a closed one is not. */
class HeartbeatTest {

    private static final String TOKEN = "t";
    private static final Liveness FAST = new Liveness(Duration.ofMillis(50), Duration.ofMillis(600));

    private StoreServer server;
    private InetSocketAddress address;

    @BeforeEach
    void startStore() {
        server = StoreServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), TOKEN);
        address = server.address();
    }

    @AfterEach
    void stopStore() {
        server.close();
    }

    @Test
    @Timeout(30)
    void aRankThatNeverBeatsIsNamedAfterTheTimeout() throws Exception {
        BlockingQueue<String> failures = new ArrayBlockingQueue<>(4);
        long t0 = System.nanoTime();
        try (Heartbeat h = Heartbeat.start(address, TOKEN, 0, 2, FAST, failures::add)) {
            String message = failures.poll(10, TimeUnit.SECONDS);
            double waited = (System.nanoTime() - t0) / 1e9;
            assertNotNull(message, "no failure reported");
            assertTrue(message.startsWith("rank 0: rank 1 has sent no heartbeat for "), message);
            assertTrue(message.contains("(the limit is 0.6 s)") && message.contains("--resume"), message);
            assertTrue(waited >= 0.6 && waited < 5, "reported after " + waited + " s");
            assertTrue(h.failed());
        }
    }

    @Test
    @Timeout(30)
    void beatingRanksAndARankThatClosedAreNotReported() throws Exception {
        BlockingQueue<String> failures = new ArrayBlockingQueue<>(4);
        try (Heartbeat r0 = Heartbeat.start(address, TOKEN, 0, 3, FAST, failures::add);
                Heartbeat r1 = Heartbeat.start(address, TOKEN, 1, 3, FAST, failures::add)) {
            Heartbeat r2 = Heartbeat.start(address, TOKEN, 2, 3, FAST, failures::add);
            Thread.sleep(200);
            r2.close();
            assertNull(failures.poll(2, TimeUnit.SECONDS), "a live or closed rank was reported");
            assertFalse(r0.failed() || r1.failed());
        }
    }

    @Test
    @Timeout(30)
    void rankZeroSilentIsNamedByTheOthers() throws Exception {
        BlockingQueue<String> failures = new ArrayBlockingQueue<>(4);
        try (Heartbeat h = Heartbeat.start(address, TOKEN, 1, 2, FAST, failures::add)) {
            String message = failures.poll(10, TimeUnit.SECONDS);
            assertNotNull(message);
            assertTrue(message.startsWith("rank 1: rank 0 has sent no heartbeat"), message);
        }
    }

    @Test
    void livenessReadsItsVariable() {
        assertEquals(Duration.ofSeconds(15), Liveness.fromEnv(Map.of()).timeout());
        assertEquals(Duration.ofSeconds(2), Liveness.fromEnv(Map.of()).interval());
        assertEquals(Duration.ofMillis(2500), Liveness.fromEnv(Map.of(Liveness.TIMEOUT_VARIABLE, "2.5")).timeout());
        assertEquals(Duration.ofMillis(500), Liveness.fromEnv(Map.of(Liveness.TIMEOUT_VARIABLE, "2.5")).interval());
        assertFalse(Liveness.fromEnv(Map.of(Liveness.TIMEOUT_VARIABLE, "0")).enabled());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Liveness.fromEnv(Map.of(Liveness.TIMEOUT_VARIABLE, "soon")));
        assertTrue(e.getMessage().contains("TESSERA_HEARTBEAT_TIMEOUT = 'soon'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Liveness.fromEnv(Map.of(Liveness.TIMEOUT_VARIABLE, "-1")));
    }
}
