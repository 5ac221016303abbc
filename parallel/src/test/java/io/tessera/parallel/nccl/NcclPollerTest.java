package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.comm.CommunicationException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The wait loop that bounds every NCCL call, driven by fakes of the event and the communicator state. */
class NcclPollerTest {

    private static long in(Duration d) {
        return System.nanoTime() + d.toNanos();
    }

    @Test
    void returnsOnceDone() {
        AtomicInteger polls = new AtomicInteger();
        NcclPoller.await(() -> polls.incrementAndGet() > 2_050, () -> NcclPoller.IN_PROGRESS, in(Duration.ofSeconds(10)),
                e -> new IllegalStateException("unexpected error " + e), () -> new IllegalStateException("unexpected timeout"), () -> new IllegalStateException("unexpected interrupt"));

        assertEquals(2_051, polls.get());
    }

    @Test
    void anAsyncErrorEndsTheWaitWithItsCode() {
        AtomicInteger polls = new AtomicInteger();
        CommunicationException e = assertThrows(CommunicationException.class, () -> NcclPoller.await(() -> false,
                () -> polls.incrementAndGet() < 3 ? NcclPoller.SUCCESS : 6, in(Duration.ofSeconds(10)),
                code -> new CommunicationException("error " + code), () -> new IllegalStateException("unexpected timeout"),
                () -> new IllegalStateException("unexpected interrupt")));
        assertEquals("error 6", e.getMessage()); // ncclRemoteError
    }

    @Test
    void aStuckOperationTimesOutAtTheDeadline() {
        long start = System.nanoTime();
        CommunicationException e = assertThrows(CommunicationException.class, () -> NcclPoller.await(() -> false,
                () -> NcclPoller.IN_PROGRESS, in(Duration.ofMillis(200)), code -> new IllegalStateException("unexpected error " + code),
                () -> new CommunicationException("timed out"), () -> new IllegalStateException("unexpected interrupt")));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals("timed out", e.getMessage());
        assertTrue(ms >= 200 && ms < 2_000, "waited " + ms + " ms for a 200 ms deadline");
    }

    @Test
    void anInterruptEndsTheWaitAndKeepsTheFlag() {
        Thread.currentThread().interrupt();
        try {
            assertThrows(CommunicationException.class, () -> NcclPoller.await(() -> false, () -> NcclPoller.SUCCESS,
                    in(Duration.ofSeconds(10)), code -> new IllegalStateException("unexpected error"), () -> new IllegalStateException("unexpected timeout"),
                    () -> new CommunicationException("interrupted")));
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }
}
