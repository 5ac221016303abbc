package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each mapping's one-line forward/backward contract, at degrees 1, 2 and 4; degree 1 records no node. */
class MappingsTest {

    /** Per rank: output, input gradient, recorded node count. */
    private record Result(float[] y, float[] dx, int nodes) {}

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void copyToRegionIsIdentityForwardAndAllReduceBackward(int p) {
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var x = tape.variable(m.arange(6f).reshape(2, 3));
                Var y = CopyToTensorParallelRegion.apply(tape, pc.tensor(), "f", x);
                tape.backward(y, m.full(new Shape(2, 3), pc.tensorRank() + 1f));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        float sum = p * (p + 1) / 2f;
        for (Result r : out) {
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, r.y());
            assertArrayEquals(new float[] {sum, sum, sum, sum, sum, sum}, r.dx());
            assertEquals(p == 1 ? 0 : 1, r.nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void reduceFromRegionIsAllReduceForwardAndIdentityBackward(int p) {
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                NDArray input = m.full(new Shape(2, 2), pc.tensorRank() + 1f);
                Var x = tape.variable(input);
                Var y = ReduceFromTensorParallelRegion.apply(tape, pc.tensor(), "g", x);
                tape.backward(y, m.arange(4f).reshape(2, 2));
                assertArrayEquals(new float[] {pc.tensorRank() + 1f, pc.tensorRank() + 1f, pc.tensorRank() + 1f,
                        pc.tensorRank() + 1f}, input.toFloatArray(), "g must not modify its input");
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        float sum = p * (p + 1) / 2f;
        for (Result r : out) {
            assertArrayEquals(new float[] {sum, sum, sum, sum}, r.y());
            assertArrayEquals(new float[] {0, 1, 2, 3}, r.dx());
            assertEquals(p == 1 ? 0 : 1, r.nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void scatterKeepsOwnSliceForwardAndAllGathersBackward(int p) {
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var x = tape.variable(m.arange(8f).reshape(2, 4));
                Var y = ScatterToTensorParallelRegion.apply(tape, pc.tensor(), "scatter", x);
                tape.backward(y, m.full(y.value().getShape(), pc.tensorRank() + 1f));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        int w = 4 / p;
        for (int r = 0; r < p; r++) {
            float[] expectY = new float[2 * w];
            float[] expectDx = new float[8];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < w; j++) {
                    expectY[i * w + j] = i * 4 + r * w + j;
                }
                for (int j = 0; j < 4; j++) {
                    expectDx[i * 4 + j] = j / w + 1f;
                }
            }
            assertArrayEquals(expectY, out.get(r).y(), "rank " + r);
            assertArrayEquals(expectDx, out.get(r).dx(), "rank " + r);
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void gatherConcatenatesForwardAndKeepsOwnSliceBackward(int p) {
        List<Result> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var x = tape.variable(m.full(new Shape(2, 2), (float) pc.tensorRank()));
                Var y = GatherFromTensorParallelRegion.apply(tape, pc.tensor(), "gather", x);
                tape.backward(y, m.arange(4f * p).reshape(2, 2 * p));
                return new Result(y.value().toFloatArray(), x.grad().toFloatArray(), tape.size());
            }
        });
        for (int r = 0; r < p; r++) {
            float[] expectY = new float[4 * p];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2 * p; j++) {
                    expectY[i * 2 * p + j] = j / 2;
                }
            }
            float[] expectDx = {2 * r, 2 * r + 1, 2 * p + 2 * r, 2 * p + 2 * r + 1};
            assertArrayEquals(expectY, out.get(r).y(), "rank " + r);
            assertArrayEquals(expectDx, out.get(r).dx(), "rank " + r);
            assertEquals(p == 1 ? 0 : 1, out.get(r).nodes());
        }
    }
}
