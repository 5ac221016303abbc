package io.tessera.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import io.tessera.core.TensorMemory;
import io.tessera.core.Torch;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * AdamW's update of a CPU range in one pass over memory: parameters, gradients and both moments are read
 * once and written once, in chunks that stay in cache, on libtorch's intra-op thread count — where the
 * same update written as tensor ops makes about fourteen passes over range-sized arrays. The arithmetic is
 * {@link AdamW}'s, operation for operation in fp32:
 *
 * <pre>
 *   p ← p · (1 − η·λ)                       (decayed runs only)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   p ← p − (s·m) / (√v / c₂ + ε)           s = η / (1 − β₁ᵗ),  c₂ = √(1 − β₂ᵗ)
 * </pre>
 *
 * <p>The operands are reached through {@link TensorMemory#buffer} (zero-copy); every one must be a
 * contiguous fp32 CPU tensor, as a {@link FlatRange}'s views and {@link OptimizerState}'s moments are.
 * {@link #applies} says whether a step can take this path; {@link AdamW} falls back to tensor ops
 * otherwise (device tensors).
 *
 * <p>Thread safety: stateless; concurrent calls on disjoint arrays (in-JVM ranks) are safe.
 */
final class AdamWKernel {

    /** Elements per chunk: five 32 KiB arrays per worker, within L2. */
    private static final int CHUNK = 8192;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[4][CHUNK]);
    private static volatile ForkJoinPool pool;

    private AdamWKernel() {}

    /**
     * @param arrays the step's operands
     * @return whether all are CPU tensors of at most {@code Integer.MAX_VALUE} elements
     */
    static boolean applies(NDArray... arrays) {
        for (NDArray a : arrays) {
            if (!Device.Type.CPU.equals(a.getDevice().getDeviceType()) || a.size() > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /**
     * One AdamW update in place.
     *
     * @param params the range's parameters {@code p}
     * @param grads their gradients {@code g}
     * @param m the first moments
     * @param v the second moments
     * @param decayed runs of the range that take weight decay
     * @param decayFactor {@code 1 − η·λ}
     * @param beta1 β₁ (double, so that {@code 1 − β} rounds to float as the tensor ops round it)
     * @param beta2 β₂
     * @param stepSize {@code s = η / (1 − β₁ᵗ)}
     * @param correction2 {@code c₂ = √(1 − β₂ᵗ)}
     * @param eps ε
     */
    static void step(NDArray params, NDArray grads, NDArray m, NDArray v, List<FlatRange.Span> decayed,
                     float decayFactor, double beta1, double beta2, float stepSize, float correction2, float eps) {
        FloatBuffer p = TensorMemory.buffer(params).asFloatBuffer();
        FloatBuffer g = TensorMemory.buffer(grads).asFloatBuffer();
        FloatBuffer mb = TensorMemory.buffer(m).asFloatBuffer();
        FloatBuffer vb = TensorMemory.buffer(v).asFloatBuffer();
        int length = Math.toIntExact(params.size());
        long[] runs = new long[decayed.size() * 2];
        for (int i = 0; i < decayed.size(); i++) {
            runs[2 * i] = decayed.get(i).offset();
            runs[2 * i + 1] = decayed.get(i).offset() + decayed.get(i).length();
        }
        int chunks = (length + CHUNK - 1) / CHUNK;
        Runnable all = () -> IntStream.range(0, chunks).parallel().forEach(c -> chunk(c, length, p, g, mb, vb, runs,
                decayFactor, beta1, beta2, stepSize, correction2, eps));
        if (chunks == 1) {
            all.run();
        } else {
            pool().submit(all).join();
        }
    }

    private static void chunk(int c, int length, FloatBuffer p, FloatBuffer g, FloatBuffer m, FloatBuffer v, long[] runs,
                              float decayFactor, double beta1, double beta2, float stepSize, float correction2, float eps) {
        int from = c * CHUNK;
        int n = Math.min(CHUNK, length - from);
        float[][] s = SCRATCH.get();
        float[] pa = s[0];
        float[] ga = s[1];
        float[] ma = s[2];
        float[] va = s[3];
        p.get(from, pa, 0, n);
        g.get(from, ga, 0, n);
        m.get(from, ma, 0, n);
        v.get(from, va, 0, n);
        if (decayFactor != 1f) {
            for (int r = 0; r < runs.length; r += 2) {
                int a = (int) Math.max(runs[r], from) - from;
                int b = (int) Math.min(runs[r + 1], from + n) - from;
                for (int i = a; i < b; i++) {
                    pa[i] *= decayFactor;
                }
            }
        }
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float oneMinusBeta1 = (float) (1 - beta1);   // rounded from double, as the tensor ops' scalar is
        float oneMinusBeta2 = (float) (1 - beta2);
        for (int i = 0; i < n; i++) {
            float gi = ga[i];
            float mi = ma[i] * b1 + gi * oneMinusBeta1;
            float vi = va[i] * b2 + gi * gi * oneMinusBeta2;
            ma[i] = mi;
            va[i] = vi;
            pa[i] -= (mi * stepSize) / ((float) Math.sqrt(vi) / correction2 + eps);
        }
        p.put(from, pa, 0, n);
        m.put(from, ma, 0, n);
        v.put(from, va, 0, n);
    }

    private static ForkJoinPool pool() {
        int threads = Math.max(1, Torch.threads());
        ForkJoinPool current = pool;
        if (current == null || current.getParallelism() != threads) {
            synchronized (AdamWKernel.class) {
                current = pool;
                if (current == null || current.getParallelism() != threads) {
                    ForkJoinPool old = current;
                    current = new ForkJoinPool(threads, p -> {
                        var w = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
                        w.setDaemon(true);
                        w.setName("tessera-adamw-" + w.getPoolIndex());
                        return w;
                    }, null, false);
                    pool = current;
                    if (old != null) {
                        old.shutdown();
                    }
                }
            }
        }
        return current;
    }
}
