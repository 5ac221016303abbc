package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.nn.Parameter;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Shared helpers of the tensor-parallel tests (also used by the models tests): run a body at a
 * tensor-parallel degree on in-JVM ranks, gather split tensors, compare with a relative tolerance.
 */
public final class TpTesting {

    private TpTesting() {}

    /**
     * Runs {@code body} on {@code degree} ranks forming one tensor-parallel group.
     *
     * @param degree the tensor-parallel degree (and world size)
     * @param body what each rank does; return plain Java values (managers close with the rank)
     * @param <T> result type
     * @return results in rank order
     */
    public static <T> List<T> run(int degree, Function<ParallelContext, T> body) {
        return run(degree, LocalCluster.Backend.IN_PROCESS, body);
    }

    /**
     * Runs {@code body} on {@code degree} ranks forming one tensor-parallel group, over a chosen backend.
     *
     * @param degree the tensor-parallel degree (and world size)
     * @param backend in-process rings, or Netty over loopback TCP as separate processes would use
     * @param body what each rank does
     * @param <T> result type
     * @return results in rank order
     */
    public static <T> List<T> run(int degree, LocalCluster.Backend backend, Function<ParallelContext, T> body) {
        return LocalCluster.of(ParallelLayout.of(degree, degree, 1)).withBackend(backend).withTimeout(Duration.ofSeconds(120))
                .run(body);
    }

    /**
     * @param pc the rank's context
     * @param manager scratch owner
     * @param p a parameter
     * @return its full gradient, gathered over the tensor-parallel group
     */
    public static float[] fullGrad(ParallelContext pc, NDManager manager, Parameter p) {
        return PartitionedTensors.gather(pc.tensor(), manager, p.grad(), p.partition()).toFloatArray();
    }

    /**
     * @param pc the rank's context
     * @param manager scratch owner
     * @param p a parameter
     * @return its full value, gathered over the tensor-parallel group
     */
    public static float[] fullValue(ParallelContext pc, NDManager manager, Parameter p) {
        return PartitionedTensors.gather(pc.tensor(), manager, p.data(), p.partition()).toFloatArray();
    }

    /**
     * Asserts {@code max|a − e| ≤ rel · max(max|e|, 1e-12)}.
     *
     * @param expected reference
     * @param actual values under test
     * @param rel relative tolerance
     * @param what name for the message
     */
    public static void assertClose(float[] expected, float[] actual, double rel, String what) {
        assertTrue(expected.length == actual.length, what + ": length " + actual.length + " != expected " + expected.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs((double) actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs((double) expected[i]));
        }
        double r = diff / Math.max(scale, 1e-12);
        assertTrue(r <= rel, what + ": relative difference " + r + " > " + rel + " (max abs diff " + diff + ", scale " + scale + ")");
    }

    /**
     * Compares named gradients tensor by tensor, each relative to its own scale, except tensors that
     * are zero up to rounding (scale below {@code 1e-3} of the largest gradient, e.g. the key bias,
     * whose gradient vanishes because softmax ignores a per-query shift): those are compared relative
     * to the largest gradient.
     *
     * @param expected reference gradients by name
     * @param actual gradients under test by name
     * @param rel relative tolerance
     * @param what prefix for messages
     */
    public static void assertGradientsClose(Map<String, float[]> expected, Map<String, float[]> actual,
                                            double rel, String what) {
        assertTrue(expected.keySet().equals(actual.keySet()), what + ": parameter names differ: " + expected.keySet()
                + " vs " + actual.keySet());
        double global = 0;
        for (float[] e : expected.values()) {
            global = Math.max(global, maxAbs(e));
        }
        for (String name : expected.keySet()) {
            float[] e = expected.get(name);
            float[] a = actual.get(name);
            assertTrue(e.length == a.length, what + " " + name + ": length " + a.length + " != " + e.length);
            double scale = maxAbs(e);
            if (scale < 1e-3 * global) {
                scale = global;
            }
            double diff = 0;
            for (int i = 0; i < e.length; i++) {
                diff = Math.max(diff, Math.abs((double) a[i] - e[i]));
            }
            double r = diff / Math.max(scale, 1e-30);
            assertTrue(r <= rel, what + " gradient of " + name + ": relative difference " + r + " > " + rel
                    + " (max abs diff " + diff + ", scale " + scale + ")");
        }
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * Asserts every rank returned the same array.
     *
     * @param perRank one array per rank
     * @param what name for the message
     */
    public static void assertSameOnEveryRank(List<float[]> perRank, String what) {
        for (int r = 1; r < perRank.size(); r++) {
            assertArrayEquals(perRank.get(0), perRank.get(r), what + ": rank " + r + " differs from rank 0");
        }
    }

    /**
     * @param a an array
     * @return a's values as floats
     */
    public static float[] floats(NDArray a) {
        return a.toType(DataType.FLOAT32, false).toFloatArray();
    }
}
