package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Groups, results and failure handling of in-JVM clusters, on every backend. */
class LocalClusterTest {

    private static LocalCluster cluster(LocalCluster.Backend backend, ParallelLayout layout, int commSeconds) {
        return LocalCluster.of(layout).withBackend(backend)
                .withComm(CommOptions.defaults().withTimeout(Duration.ofSeconds(commSeconds))).withTimeout(Duration.ofSeconds(30));
    }

    private static ByteBuffer ints(int... values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        for (int v : values) {
            b.putInt(v);
        }
        return b.flip();
    }

    @ParameterizedTest
    @EnumSource(LocalCluster.Backend.class)
    void groupsFollowMegatronsAssignment(LocalCluster.Backend backend) {
        List<String> got = cluster(backend, ParallelLayout.of(8, 2, 2), 20).run(ctx -> {
            ByteBuffer t = ints(ctx.rank());
            ctx.tensor().allReduce(t, ElementType.INT32, ReduceOp.SUM);
            ByteBuffer d = ints(ctx.rank());
            ctx.data().allReduce(d, ElementType.INT32, ReduceOp.SUM);
            ByteBuffer w = ints(ctx.rank());
            ctx.world().allReduce(w, ElementType.INT32, ReduceOp.SUM);
            // Neighbouring stages exchange point to point over the pipeline group: stage 0 sends its rank to stage 1.
            ByteBuffer p = ints(ctx.rank());
            if (ctx.pipelineRank() == 0) {
                ctx.pipeline().send(p, 1);
            } else {
                p = ints(-1);
                ctx.pipeline().recv(p, 0);
            }
            return ctx.tensor().name() + " " + ctx.tensorRank() + " " + t.getInt(0) + " | " + ctx.data().name() + " "
                    + ctx.dataRank() + " " + d.getInt(0) + " | " + ctx.pipeline().name() + " " + ctx.pipelineRank() + " "
                    + p.getInt(0) + " | " + w.getInt(0);
        });
        // TP innermost, then DP, then PP (Megatron's order): stage s holds ranks 4s..4s+3.
        assertEquals(List.of(
                "tp[0,1] 0 1 | dp[0,2] 0 2 | pp[0,4] 0 0 | 28",
                "tp[0,1] 1 1 | dp[1,3] 0 4 | pp[1,5] 0 1 | 28",
                "tp[2,3] 0 5 | dp[0,2] 1 2 | pp[2,6] 0 2 | 28",
                "tp[2,3] 1 5 | dp[1,3] 1 4 | pp[3,7] 0 3 | 28",
                "tp[4,5] 0 9 | dp[4,6] 0 10 | pp[0,4] 1 0 | 28",
                "tp[4,5] 1 9 | dp[5,7] 0 12 | pp[1,5] 1 1 | 28",
                "tp[6,7] 0 13 | dp[4,6] 1 10 | pp[2,6] 1 2 | 28",
                "tp[6,7] 1 13 | dp[5,7] 1 12 | pp[3,7] 1 3 | 28"), got);
    }

    @ParameterizedTest
    @EnumSource(LocalCluster.Backend.class)
    void aFailingRankAbortsTheOthersAtOnce(LocalCluster.Backend backend) {
        long start = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> cluster(backend, ParallelLayout.of(3, 1, 1), 25).run(ctx -> {
                    if (ctx.rank() == 1) {
                        throw new IllegalStateException("boom on rank 1");
                    }
                    ctx.world().allReduce(ints(1), ElementType.INT32, ReduceOp.SUM);
                    return 0;
                }));
        assertEquals("boom on rank 1", e.getMessage());
        assertTrue(e.getSuppressed()[0].getMessage().contains("thrown by rank 1 of 3"), e.getSuppressed()[0].getMessage());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "the other ranks were not aborted promptly");
    }

    @ParameterizedTest
    @EnumSource(LocalCluster.Backend.class)
    void aMissingRankIsNamedWithinTheTimeout(LocalCluster.Backend backend) {
        long start = System.nanoTime();
        CommunicationException e = assertThrows(CommunicationException.class,
                () -> cluster(backend, ParallelLayout.of(3, 1, 1), 2).run(ctx -> {
                    ctx.world().allReduce(ints(1, 2, 3), ElementType.INT32, ReduceOp.SUM);
                    if (ctx.rank() != 2) {
                        ctx.world().allReduce(ints(1, 2, 3), ElementType.INT32, ReduceOp.MAX);
                    }
                    return 0;
                }));
        String m = e.getMessage();
        assertTrue(m.startsWith("allReduce #2 (3 x INT32, MAX) on group world[0,1,2] at rank "), m);
        assertTrue(m.contains("rank 2 (world rank 2) has not started this operation (the last it started is #1)"), m);
        assertTrue(m.contains("hint:"), m);
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        assertTrue(seconds < 8, "took " + seconds + " s with a 2 s timeout");
    }

    @ParameterizedTest
    @EnumSource(LocalCluster.Backend.class)
    void mismatchedCollectivesAreReported(LocalCluster.Backend backend) {
        CommunicationException e = assertThrows(CommunicationException.class,
                () -> cluster(backend, ParallelLayout.of(2, 1, 1), 5).run(ctx -> {
                    if (ctx.rank() == 0) {
                        ctx.world().allReduce(ints(1), ElementType.INT32, ReduceOp.SUM);
                    } else {
                        ctx.world().broadcast(ints(1), 1);
                    }
                    return 0;
                }));
        assertTrue(e.getMessage().contains("is running broadcast #1 while this rank runs allReduce #1")
                || e.getMessage().contains("is running allReduce #1 while this rank runs broadcast #1"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(LocalCluster.Backend.class)
    void barrierHoldsEveryRankUntilTheLastArrives(LocalCluster.Backend backend) {
        List<long[]> times = cluster(backend, ParallelLayout.of(3, 1, 1), 10).run(ctx -> {
            try {
                Thread.sleep(100L * ctx.rank());
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            long arrive = System.nanoTime();
            ctx.world().barrier();
            return new long[] {arrive, System.nanoTime()};
        });
        long lastArrival = times.stream().mapToLong(t -> t[0]).max().orElseThrow();
        for (long[] t : times) {
            assertTrue(t[1] >= lastArrival, "a rank left the barrier before the last one arrived");
        }
    }

    @Test
    void aStuckRankFailsTheRunWithinItsTimeout() {
        long start = System.nanoTime();
        CommunicationException e = assertThrows(CommunicationException.class,
                () -> LocalCluster.of(ParallelLayout.of(2, 1, 1)).withBackend(LocalCluster.Backend.IN_PROCESS)
                        .withTimeout(Duration.ofSeconds(2)).run(ctx -> {
                            if (ctx.rank() == 1) {
                                try {
                                    Thread.sleep(60_000);
                                } catch (InterruptedException ie) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                            return 0;
                        }));
        assertTrue(e.getMessage().contains("did not finish within 2 s; still running: rank 1 at "), e.getMessage());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(8).toNanos());
    }

    @Test
    void resultsComeBackInRankOrder() {
        assertEquals(List.of(0, 10, 20, 30), LocalCluster.run(4, Duration.ofSeconds(30), ctx -> ctx.rank() * 10));
        assertThrows(IllegalArgumentException.class, () -> ParallelLayout.of(6, 4, 1));
    }
}
