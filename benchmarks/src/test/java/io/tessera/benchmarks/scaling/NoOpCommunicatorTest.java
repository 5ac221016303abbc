package io.tessera.benchmarks.scaling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.benchmarks.step.StepSpec;
import io.tessera.benchmarks.step.TesseraTrainStep;
import io.tessera.models.config.Presets;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.comm.Work;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The no-op data group: the real operations' output shapes from local data, completed at once, without peers. */
class NoOpCommunicatorTest {

    private static float[] range(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i + 1;
        }
        return a;
    }

    @Test
    void collectivesCompleteAtOnceAndLeaveOnlyLocalData() {
        NoOpCommunicator c = new NoOpCommunicator(1, 3, "dp[0,1,2]");
        assertEquals(1, c.rank());
        assertEquals(3, c.size());
        assertTrue(c.name().startsWith("dp[0,1,2]"), c.name());
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray t = m.create(range(7), new Shape(7));
            Work w = c.allReduceAsync(t, ReduceOp.SUM); // a real group of 3 would wait for two peers that do not exist
            assertTrue(w.isDone());
            assertArrayEquals(range(7), t.toFloatArray(), "all-reduce leaves this rank's values");
            NDArray shard = m.zeros(new Shape(2)); // Shards: 7 over 3 is 3, 2, 2; rank 1 holds elements 3..4
            assertTrue(c.reduceScatterAsync(t, shard, ReduceOp.SUM).isDone());
            assertArrayEquals(new float[] {4, 5}, shard.toFloatArray());
            NDArray full = m.zeros(new Shape(7));
            assertTrue(c.allGatherAsync(m.create(new float[] {9, 8}), full).isDone());
            assertArrayEquals(new float[] {0, 0, 0, 9, 8, 0, 0}, full.toFloatArray(), "only this rank's shard is written");
            assertTrue(c.broadcastAsync(t, 0).isDone());
            assertArrayEquals(range(7), t.toFloatArray());
            c.barrier();
            assertThrows(IllegalArgumentException.class, () -> c.reduceScatterAsync(t, m.zeros(new Shape(3)), ReduceOp.SUM));
            assertThrows(IllegalArgumentException.class, () -> c.broadcastAsync(t, 3));
            assertThrows(UnsupportedOperationException.class, () -> c.send(t, 0));
            assertThrows(UnsupportedOperationException.class, () -> c.recv(t, 2));
        }
    }

    @Test
    void flatBuffersMoveTheSameShards() {
        NoOpCommunicator c = new NoOpCommunicator(0, 2, "dp");
        ByteBuffer in = ByteBuffer.allocateDirect(5 * 4).order(ByteOrder.nativeOrder());
        for (float v : range(5)) {
            in.putFloat(v);
        }
        in.flip();
        ByteBuffer out = ByteBuffer.allocateDirect(3 * 4).order(ByteOrder.nativeOrder()); // 5 over 2: rank 0 holds 3
        assertTrue(c.allReduceAsync(in, ElementType.FLOAT32, ReduceOp.SUM).isDone());
        assertTrue(c.reduceScatterAsync(in, out, ElementType.FLOAT32, ReduceOp.SUM).isDone());
        assertEquals(0, in.position(), "positions are left unchanged");
        assertEquals(0, out.position());
        assertEquals(3f, out.getFloat(8));
        ByteBuffer gathered = ByteBuffer.allocateDirect(5 * 4).order(ByteOrder.nativeOrder());
        assertTrue(c.allGatherAsync(out, gathered, ElementType.FLOAT32).isDone());
        assertEquals(1f, gathered.getFloat(0));
        assertEquals(3f, gathered.getFloat(8));
        assertEquals(0f, gathered.getFloat(12), "the peer's shard stays as it was");
        assertThrows(IllegalArgumentException.class, () -> c.reduceScatterAsync(in, ByteBuffer.allocateDirect(8),
                ElementType.FLOAT32, ReduceOp.SUM));
    }

    @Test
    void refusesARankOutsideItsGroup() {
        assertThrows(IllegalArgumentException.class, () -> new NoOpCommunicator(2, 2, "dp"));
        assertThrows(IllegalArgumentException.class, () -> new NoOpCommunicator(0, 0, "dp"));
    }

    @Test
    void aRankContextKeepsItsOtherGroupsAndTrainsWithoutPeers() {
        NoOpCommunicator world = new NoOpCommunicator(1, 2, "world");
        SingleRankCommunicator tensor = new SingleRankCommunicator("tp");
        NoOpCommunicator realStandIn = new NoOpCommunicator(1, 2, "dp");
        ParallelContext ctx = new ParallelContext(1, ParallelLayout.of(2, 1, 1), world, tensor, realStandIn);
        ParallelContext without = ScalingRank.withoutReduction(ctx);
        assertSame(world, without.world());
        assertSame(tensor, without.tensor());
        assertEquals(1, without.dataRank());
        assertEquals(2, without.dataSize());
        assertTrue(without.data() instanceof NoOpCommunicator && without.data() != realStandIn);
        StepSpec spec = new StepSpec(Presets.get("bert-tiny"), "bert-tiny", 2, 8, "adamw", 1e-3, 1.0, 5);
        try (TesseraTrainStep step = TesseraTrainStep.create(spec, without)) {
            step.run(); // a data-parallel step of two ranks with only one present: completes because nothing waits
            assertTrue(Float.isFinite(step.lastLoss()));
        }
    }
}
