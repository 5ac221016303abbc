package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DistributedBatchSamplerTest {

    private static final int GLOBAL = 32;

    private static DistributedBatchSampler sampler(ExampleDataset data, int micro, int dp, int rank) {
        return DistributedBatchSampler.builder().setDataset(data).setGlobalBatchSize(GLOBAL).setMicroBatchSize(micro)
                .optDataParallelSize(dp).optDataParallelRank(rank).build();
    }

    /** All ranks' micro-batches, rank-major, concatenated. */
    private static Batch assemble(ExampleDataset data, int micro, int dp, int epoch, int step) {
        List<Batch> parts = new ArrayList<>();
        for (int rank = 0; rank < dp; rank++) {
            DistributedBatchSampler s = sampler(data, micro, dp, rank);
            assertEquals(GLOBAL / (micro * dp), s.microBatchesPerStep());
            for (int m = 0; m < s.microBatchesPerStep(); m++) {
                Batch b = s.microBatch(epoch, step, m);
                assertEquals(micro, b.batchSize());
                parts.add(b);
            }
        }
        return Batch.concat(parts);
    }

    @Test
    void globalBatchIsTheSameForEveryLayout() {
        BertPretrainingDataset data = TestData.nspDataset();
        int[][] layouts = {{32, 1}, {8, 1}, {1, 1}, {16, 2}, {4, 2}, {8, 4}, {2, 4}, {1, 4}};
        for (int[] position : new int[][] {{0, 0}, {0, 5}, {3, 2}}) {
            Batch reference = sampler(data, GLOBAL, 1, 0).globalBatch(position[0], position[1]);
            assertEquals(GLOBAL, reference.batchSize());
            for (int[] layout : layouts) {
                assertEquals(reference, assemble(data, layout[0], layout[1], position[0], position[1]),
                        "micro " + layout[0] + ", dp " + layout[1] + " at " + Arrays.toString(position));
            }
        }
    }

    /** The examples of steps [from, from + n), all ranks' micro-batches rank-major, as resuming at a step sees them. */
    private static List<Integer> stream(ExampleDataset data, int micro, int dp, long from, int n) {
        List<Integer> ids = new ArrayList<>();
        for (long step = from; step < from + n; step++) {
            for (int rank = 0; rank < dp; rank++) {
                DistributedBatchSampler s = sampler(data, micro, dp, rank);
                DistributedBatchSampler.Position p = s.position(step);
                for (int m = 0; m < s.microBatchesPerStep(); m++) {
                    for (int i : s.exampleIndices(p.epoch(), p.step(), m)) {
                        ids.add(i);
                    }
                }
            }
        }
        return ids;
    }

    @Test
    void streamAfterReshardingIsTheOriginalStream() {
        BertPretrainingDataset data = TestData.nspDataset();
        int perEpoch = sampler(data, 4, 2, 0).stepsPerEpoch();
        // Saved at dp 2 two steps before an epoch ends; resumed at dp 4 and at one rank, other micro-batches.
        long saved = perEpoch - 2;
        List<Integer> original = stream(data, 4, 2, 0, perEpoch + 3).subList((int) saved * GLOBAL, (perEpoch + 3) * GLOBAL);
        assertEquals(original, stream(data, 2, 4, saved, 5), "dp 4, micro 2");
        assertEquals(original, stream(data, 32, 1, saved, 5), "one rank, micro 32");
        assertEquals(5 * GLOBAL, original.size());
    }

    @Test
    void eachRankGetsAContiguousSliceOfTheGlobalBatch() {
        BertPretrainingDataset data = TestData.nspDataset();
        DistributedBatchSampler all = sampler(data, GLOBAL, 1, 0);
        int[] global = all.exampleIndices(2, 3, 0);
        for (int rank = 0; rank < 4; rank++) {
            DistributedBatchSampler s = sampler(data, 4, 4, rank);
            for (int m = 0; m < 2; m++) {
                assertArrayEquals(Arrays.copyOfRange(global, rank * 8 + m * 4, rank * 8 + m * 4 + 4),
                        s.exampleIndices(2, 3, m));
            }
        }
    }

    @Test
    void epochsArePermutationsThatDifferAndResumeExactly() {
        BertPretrainingDataset data = TestData.nspDataset();
        DistributedBatchSampler s = sampler(data, 8, 2, 1);
        int[] p0 = s.permutation(0);
        int[] p1 = s.permutation(1);
        assertFalse(Arrays.equals(p0, p1));
        int[] sorted = p0.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
        // A fresh sampler (a restarted run) at the stored position serves the same data.
        DistributedBatchSampler resumed = sampler(data, 8, 2, 1);
        DistributedBatchSampler.Position at = s.position(s.stepsPerEpoch() + 4L);
        assertEquals(new DistributedBatchSampler.Position(1, 4), at);
        assertEquals(s.microBatch(at, 1), resumed.microBatch(1, 4, 1));
        assertEquals(data.size() / GLOBAL, s.stepsPerEpoch());

        DistributedBatchSampler ordered = DistributedBatchSampler.builder().setDataset(data).setGlobalBatchSize(GLOBAL)
                .setMicroBatchSize(GLOBAL).optShuffle(false).build();
        assertArrayEquals(java.util.stream.IntStream.range(GLOBAL, 2 * GLOBAL).toArray(), ordered.exampleIndices(7, 1, 0));
    }

    @Test
    void ranksAsThreadsSeeWhatOneThreadSees() throws Exception {
        BertPretrainingDataset data = TestData.nspDataset();
        Batch reference = sampler(data, GLOBAL, 1, 0).globalBatch(1, 1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Batch>> futures = new ArrayList<>();
            DistributedBatchSampler[] samplers = new DistributedBatchSampler[4];
            for (int rank = 0; rank < 4; rank++) {
                samplers[rank] = sampler(data, 4, 4, rank);
                for (int m = 0; m < 2; m++) {
                    DistributedBatchSampler s = samplers[rank];
                    int micro = m;
                    futures.add(pool.submit(() -> s.microBatch(1, 1, micro)));
                }
            }
            List<Batch> parts = new ArrayList<>();
            for (Future<Batch> f : futures) {
                parts.add(f.get());
            }
            assertEquals(reference, Batch.concat(parts));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void batchesCarryFlattenedRowsAndWiden() {
        BertPretrainingDataset data = TestData.nspDataset();
        DistributedBatchSampler s = sampler(data, 4, 1, 0);
        int[] indices = s.exampleIndices(0, 0, 2);
        Batch b = s.microBatch(0, 0, 2);
        assertEquals(4 * 128, b.inputIds().length);
        for (int row = 0; row < 4; row++) {
            assertEquals(data.example(0, indices[row]), b.example(row));
        }
        long[] wide = Batch.toLongs(b.labels());
        assertEquals(b.labels()[5], wide[5]);
    }

    @Test
    void validatesTheLayout() {
        BertPretrainingDataset data = TestData.nspDataset();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistributedBatchSampler.builder().setDataset(data).setGlobalBatchSize(100).setMicroBatchSize(8)
                        .optDataParallelSize(4).build());
        String message = e.getMessage();
        assertTrue(message.contains("globalBatchSize 100") && message.contains("microBatchSize 8")
                && message.contains("dataParallelSize 4") && message.contains("96 or 128"), message);
        e = assertThrows(IllegalArgumentException.class, () -> sampler(data, 8, 2, 2));
        assertTrue(e.getMessage().contains("dataParallelRank is 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DistributedBatchSampler.builder().setDataset(data)
                .setGlobalBatchSize(data.size() + 1).setMicroBatchSize(1).build());
        assertTrue(e.getMessage().contains("exceeds the " + data.size() + " examples"), e.getMessage());
        DistributedBatchSampler s = sampler(data, 8, 2, 0);
        e = assertThrows(IllegalArgumentException.class, () -> s.microBatch(0, s.stepsPerEpoch(), 0));
        assertTrue(e.getMessage().contains("step is " + s.stepsPerEpoch()), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.microBatch(0, 0, 2));
        assertTrue(e.getMessage().contains("microBatch is 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DistributedBatchSampler.builder().setGlobalBatchSize(8)
                .setMicroBatchSize(8).build());
        assertTrue(e.getMessage().contains("setDataset"), e.getMessage());
    }
}
