package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The sequence-parallel mappings' forward/backward contracts on {@code [B, T, C] = [2, 4, 3]} against a
 * hand computation at degrees 1, 2 and 4 (degree 1 records no node); the T-divisibility error; and
 * {@link SequenceParallelFunction}: LayerNorm on sequence shards gives the degree-1 output and
 * gradients (its weight and bias gradients summed over the group), and its dropout draws a different
 * mask on every rank and the same mask again in the backward rerun.
 */
class SequenceParallelMappingsTest {

    static final int B = 2;
    static final int T = 4;
    static final int C = 3;

    /** Per rank: output, input gradient, recorded node count. */
    private record Result(float[] y, float[] dx, int nodes) {}

    /** {@code v(b, t, c)} over a {@code [B, t, C]} grid. */
    private interface Grid {
        float v(int b, int t, int c);
    }

    private static float[] grid(int t, Grid g) {
        float[] out = new float[B * t * C];
        for (int b = 0; b < B; b++) {
            for (int s = 0; s < t; s++) {
                for (int c = 0; c < C; c++) {
                    out[(b * t + s) * C + c] = g.v(b, s, c);
                }
            }
        }
        return out;
    }

    /** The position-major value {@code (b·T + t)·C + c} of the whole {@code [B, T, C]} tensor. */
    private static float full(int b, int t, int c) {
        return (b * T + t) * C + c;
    }

    private static NDArray create(NDManager m, int t, Grid g) {
        return m.create(grid(t, g), new Shape(B, t, C));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void scatterKeepsOwnPositionsForwardAndAllGathersBackward(int p) {
        int n = T / p;
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var x = tape.variable(create(m, T, SequenceParallelMappingsTest::full));
                Var y = ScatterToSequenceParallelRegion.apply(tape, pc.tensor(), "scatter", x);
                float r = pc.tensorRank() + 1f;
                tape.backward(y, create(m, n, (b, t, c) -> r * (t + 1)));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        for (int r = 0; r < p; r++) {
            int rank = r;
            assertArrayEquals(grid(n, (b, t, c) -> full(b, rank * n + t, c)), out.get(r).y(), "rank " + r + " forward");
            // dx at position t came from rank t / n, whose cotangent there was (rank + 1) · (t % n + 1).
            assertArrayEquals(grid(T, (b, t, c) -> (t / n + 1f) * (t % n + 1)), out.get(r).dx(), "rank " + r + " backward");
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void gatherAllGathersForwardAndReduceScattersBackward(int p) {
        int n = T / p;
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                int rank = pc.tensorRank();
                Var x = tape.variable(create(m, n, (b, t, c) -> full(b, rank * n + t, c)));
                Var y = GatherFromSequenceParallelRegion.apply(tape, pc.tensor(), "gather", x);
                tape.backward(y, create(m, T, (b, t, c) -> (rank + 1) * full(b, t, c)));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        float sum = p * (p + 1) / 2f;
        for (int r = 0; r < p; r++) {
            int rank = r;
            assertArrayEquals(grid(T, SequenceParallelMappingsTest::full), out.get(r).y(), "rank " + r + " forward");
            assertArrayEquals(grid(n, (b, t, c) -> sum * full(b, rank * n + t, c)), out.get(r).dx(), "rank " + r + " backward");
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void reduceScatterSumsOwnPositionsForwardAndAllGathersBackward(int p) {
        int n = T / p;
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                int rank = pc.tensorRank();
                NDArray input = create(m, T, (b, t, c) -> (rank + 1) * full(b, t, c));
                float[] before = input.toFloatArray();
                Var x = tape.variable(input);
                Var y = ReduceScatterToSequenceParallelRegion.apply(tape, pc.tensor(), "reduce_scatter", x);
                tape.backward(y, create(m, n, (b, t, c) -> (rank + 1) * (t + 1)));
                assertArrayEquals(before, input.toFloatArray(), "the reduce-scatter must not modify its input");
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        float sum = p * (p + 1) / 2f;
        for (int r = 0; r < p; r++) {
            int rank = r;
            assertArrayEquals(grid(n, (b, t, c) -> sum * full(b, rank * n + t, c)), out.get(r).y(), "rank " + r + " forward");
            assertArrayEquals(grid(T, (b, t, c) -> (t / n + 1f) * (t % n + 1)), out.get(r).dx(), "rank " + r + " backward");
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void gatherToReplicatedAllGathersForwardAndKeepsOwnPositionsBackward(int p) {
        int n = T / p;
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                int rank = pc.tensorRank();
                Var x = tape.variable(create(m, n, (b, t, c) -> full(b, rank * n + t, c)));
                Var y = SequenceParallel.gather(tape, pc.tensor(), "gather", x);
                tape.backward(y, create(m, T, (b, t, c) -> -full(b, t, c)));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        for (int r = 0; r < p; r++) {
            int rank = r;
            assertArrayEquals(grid(T, SequenceParallelMappingsTest::full), out.get(r).y(), "rank " + r + " forward");
            assertArrayEquals(grid(n, (b, t, c) -> -full(b, rank * n + t, c)), out.get(r).dx(), "rank " + r + " backward");
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }

    @Test
    void sequenceLengthNotDivisibleByTheDegreeFailsNamingTheFix() {
        List<String[]> messages = TpTesting.run(2, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var x = tape.variable(m.zeros(new Shape(B, 5, C)));
                String scatter = assertThrows(IllegalArgumentException.class,
                        () -> SequenceParallel.scatter(tape, pc.tensor(), "scatter", x)).getMessage();
                String reduce = assertThrows(IllegalArgumentException.class,
                        () -> ReduceScatterToSequenceParallelRegion.apply(tape, pc.tensor(), "rs", x)).getMessage();
                String length = assertThrows(IllegalArgumentException.class,
                        () -> SequenceParallel.localLength(pc.tensor(), 5)).getMessage();
                return new String[] {scatter, reduce, length};
            }
        });
        for (String[] rank : messages) {
            for (String msg : rank) {
                assertTrue(msg.contains("T = 5") && msg.contains("not divisible by the tensor-parallel degree 2")
                        && msg.contains("T = 6") && msg.contains("turn sequence parallelism off"), msg);
            }
        }
        assertEquals(List.of(3, 3), TpTesting.run(2, pc -> SequenceParallel.localLength(pc.tensor(), 6)));
    }

    @Test
    void rowParallelSequenceParallelismNeedsASplitInput() {
        TpTesting.run(2, pc -> {
            String msg = assertThrows(IllegalArgumentException.class, () -> RowParallelLinear.builder(pc, 8, 8)
                    .optInputIsParallel(false).optSequenceParallel(true).build()).getMessage();
            assertTrue(msg.contains("sequenceParallel = true needs inputIsParallel = true"), msg);
            return 0;
        });
    }

    /** Output, input gradient, weight and bias gradients of a LayerNorm over [2, 4, 8], whole at p = 1, on shards at p > 1. */
    private static List<float[][]> layerNorm(int p) {
        return TpTesting.run(p, pc -> {
            LayerNorm ln = new LayerNorm(8, 1e-5);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(new ModuleHolder().add("ln", ln), 3, m);
                 Tape tape = new Tape(m, 7, true)) {
                ln.weight().data().addi(Rng.normal(m, new Shape(8), 0f, 0.5f, 11));
                ln.bias().data().addi(Rng.normal(m, new Shape(8), 0f, 0.5f, 12));
                Var x = tape.variable(Rng.normal(m, new Shape(2, 4, 8), 0f, 1f, 5));
                Var shard = SequenceParallel.scatter(tape, pc.tensor(), "scatter", x);
                Var normed = SequenceParallelFunction.apply1(tape, pc.tensor(), "ln", List.of(ln.weight(), ln.bias()),
                        (ctx, v, in) -> new NDList(ln.apply(v, in.get(0))), shard);
                Var y = SequenceParallel.gather(tape, pc.tensor(), "gather", normed);
                tape.backward(y, Rng.normal(m, new Shape(2, 4, 8), 0f, 1f, 6));
                return new float[][] {y.value().toFloatArray(), x.grad().toFloatArray(), ln.weight().grad().toFloatArray(),
                        ln.bias().grad().toFloatArray()};
            }
        });
    }

    @Test
    void layerNormOnSequenceShardsSumsItsParameterGradientsOverTheGroup() {
        float[][] reference = layerNorm(1).get(0);
        String[] what = {"output", "input gradient", "weight gradient", "bias gradient"};
        for (int p : new int[] {2, 4}) {
            List<float[][]> runs = layerNorm(p);
            for (int r = 0; r < p; r++) {
                for (int i = 0; i < what.length; i++) {
                    TpTesting.assertClose(reference[i], runs.get(r)[i], 1e-5, "degree " + p + " rank " + r + " " + what[i]);
                }
            }
            for (int i = 2; i < what.length; i++) {
                int k = i;
                TpTesting.assertSameOnEveryRank(runs.stream().map(run -> run[k]).toList(), "degree " + p + " " + what[i]);
            }
        }
    }

    @Test
    void dropoutOnSequenceShardsDrawsItsOwnMaskPerRankAndTheSameMaskInBackward() {
        double prob = 0.25;
        int size = 2048;
        IntFunction<List<float[][]>> run = seed -> TpTesting.run(2, pc -> {
            BiasDropoutAdd split = new BiasDropoutAdd(prob, Dropout.Region.SPLIT, new TensorParallelRng(pc.tensorRank()));
            Parameter bias = Parameter.of(new Shape(size), Initializer.zeros());
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(new BiasHolder(bias), 3, m);
                 Tape tape = new Tape(m, seed, true)) {
                Var y = tape.variable(m.ones(new Shape(1, 2, size)));
                Var residual = tape.constant(m.zeros(new Shape(1, 2, size)));
                Var out = SequenceParallelFunction.apply1(tape, pc.tensor(), "residual", List.of(bias),
                        (ctx, v, in) -> new NDList(split.apply(ctx, v, in.get(0), bias, in.get(1), 0)), y, residual);
                tape.backward(out, m.ones(new Shape(1, 2, size)));
                return new float[][] {out.value().toFloatArray(), y.grad().toFloatArray(), bias.grad().toFloatArray()};
            }
        });
        List<float[][]> out = run.apply(17);
        assertFalse(Arrays.equals(out.get(0)[0], out.get(1)[0]), "sequence shards: masks must differ across tp ranks");
        for (float[][] rank : out) {
            assertArrayEquals(rank[0], rank[1], "backward must redraw the forward's mask: dy/dx = mask / (1 - p)");
            int dropped = 0;
            for (float v : rank[0]) {
                assertTrue(v == 0f || Math.abs(v - 1 / (1 - prob)) < 1e-6, "kept values are scaled by 1/(1-p): " + v);
                dropped += v == 0f ? 1 : 0;
            }
            assertEquals(prob, dropped / (double) rank[0].length, 0.03, "fraction dropped");
        }
        // The bias gradient is the sum of both ranks' masks over their two positions.
        float[] expected = new float[size];
        for (float[][] rank : out) {
            for (int i = 0; i < rank[0].length; i++) {
                expected[i % size] += rank[0][i];
            }
        }
        for (float[][] rank : out) {
            TpTesting.assertClose(expected, rank[2], 1e-6, "bias gradient summed over the group");
        }
        assertArrayEquals(out.get(0)[0], run.apply(17).get(0)[0], "the same step seed draws the same masks");
    }

    /** A root module holding one parameter. */
    private static final class BiasHolder extends Module {
        BiasHolder(Parameter bias) {
            register("bias", bias);
        }
    }
}
