package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The RNG rule of {@link TensorParallelRng}: dropout masks over replicated activations agree across the
 * tensor-parallel group, masks over split activations differ, and a checkpointed rerun redraws the same
 * mask.
 */
class DropoutTest {

    static final int SIZE = 4096;
    static final double P = 0.25;

    @Test
    void seedsFollowTheRule() {
        TensorParallelRng r0 = new TensorParallelRng(0);
        TensorParallelRng r1 = new TensorParallelRng(1);
        assertEquals(r0.replicatedSeed(99, 2), r1.replicatedSeed(99, 2));
        assertNotEquals(r0.splitSeed(99, 2), r1.splitSeed(99, 2));
        assertNotEquals(r0.replicatedSeed(99, 2), r0.splitSeed(99, 2));
        assertNotEquals(r0.replicatedSeed(99, 2), r0.replicatedSeed(99, 3));
    }

    @Test
    void replicatedMasksAgreeAndSplitMasksDifferAcrossRanks() {
        List<float[][]> out = TpTesting.run(2, pc -> {
            TensorParallelRng rng = new TensorParallelRng(pc.tensorRank());
            Dropout replicated = new Dropout(P, Dropout.Region.REPLICATED, rng);
            Dropout split = new Dropout(P, Dropout.Region.SPLIT, rng);
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 17, true)) {
                Var ones = tape.constant(m.ones(new Shape(SIZE)));
                List<Var> y = tape.apply("dropout", (ctx, in) -> new NDList(replicated.apply(ctx, in.get(0), 0),
                        split.apply(ctx, in.get(0), 0)), ones);
                List<Var> again = tape.applyCheckpointed("dropout", (ctx, in) -> new NDList(replicated.apply(ctx, in.get(0), 0)),
                        ones);
                return new float[][] {y.get(0).value().toFloatArray(), y.get(1).value().toFloatArray(),
                        again.get(0).value().toFloatArray()};
            }
        });
        assertArrayEquals(out.get(0)[0], out.get(1)[0], "replicated activations: masks must agree across tp ranks");
        assertFalse(Arrays.equals(out.get(0)[1], out.get(1)[1]), "split activations: masks must differ across tp ranks");
        assertFalse(Arrays.equals(out.get(0)[0], out.get(0)[2]), "another node draws another mask");
        for (float[][] rank : out) {
            for (float[] mask : rank) {
                int dropped = 0;
                for (float v : mask) {
                    assertTrue(v == 0f || Math.abs(v - 1 / (1 - P)) < 1e-6, "kept values are scaled by 1/(1-p): " + v);
                    dropped += v == 0f ? 1 : 0;
                }
                assertEquals(P, dropped / (double) SIZE, 0.03, "fraction dropped");
            }
        }
    }

    @Test
    void checkpointedRerunDrawsTheSameMaskAndEvaluationIsIdentity() {
        Dropout d = new Dropout(P, Dropout.Region.SPLIT, new TensorParallelRng(1));
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] masks = new float[2][];
            for (int i = 0; i < 2; i++) {
                try (Tape tape = new Tape(m, 5, true)) {
                    Var x = tape.variable(m.ones(new Shape(64)));
                    Var y = tape.apply1("d", i == 1, (ctx, in) -> new NDList(d.apply(ctx, in.get(0), 3)), x);
                    tape.backward(y, m.ones(new Shape(64)));
                    masks[i] = x.grad().toFloatArray();
                }
            }
            assertArrayEquals(masks[0], masks[1], "gradient masks with and without checkpointing");
            try (Tape eval = new Tape(m, 5, false, false)) {
                Var x = eval.constant(m.ones(new Shape(64)));
                Var y = eval.apply1("d", false, (ctx, in) -> new NDList(d.apply(ctx, in.get(0), 3)), x);
                assertArrayEquals(m.ones(new Shape(64)).toFloatArray(), y.value().toFloatArray());
            }
        }
    }
}
