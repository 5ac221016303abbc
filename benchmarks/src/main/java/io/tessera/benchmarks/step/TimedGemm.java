package io.tessera.benchmarks.step;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.gemm.Gemm;
import java.util.Objects;

/**
 * A {@link Gemm} that passes every product to another one and adds up its wall time and FLOPs, so that
 * {@code bench step} can split a step into the products of the linear layers and the rest.
 *
 * <pre>
 *   multiply / multiplyAdd   C [m, n] = op(A) · op(B), A holding m·k elements: FLOPs += 2 · m·k · n
 *   seconds                  wall time inside the delegate (CPU products are synchronous)
 * </pre>
 *
 * <p>What it counts: every product a layer sends through its tape's {@code Gemm} (the linear layers'
 * forward, input-gradient and weight-gradient products, the vocabulary projection included). What it
 * does not: products a node computes with {@code NDArray.matMul} directly (attention scores and context),
 * which land in "rest" with softmax, LayerNorm, GELU, dropout, cross-entropy, the optimizer and copies.
 *
 * <p>Thread safety: not thread-safe (plain counters); one per single-threaded step.
 */
final class TimedGemm implements Gemm {

    private final Gemm delegate;
    private long nanos;
    private double flops;
    private long calls;

    /** @param delegate the strategy that computes */
    TimedGemm(Gemm delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** @return the strategy that computes */
    Gemm delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public NDArray multiply(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDManager manager) {
        long t0 = System.nanoTime();
        NDArray c = delegate.multiply(a, transposeA, b, transposeB, manager);
        count(System.nanoTime() - t0, a, b, transposeB);
        return c;
    }

    @Override
    public void multiplyAdd(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c) {
        long t0 = System.nanoTime();
        delegate.multiplyAdd(a, transposeA, b, transposeB, c);
        count(System.nanoTime() - t0, a, b, transposeB);
    }

    private void count(long elapsed, NDArray a, NDArray b, boolean transposeB) {
        nanos += elapsed;
        calls++;
        flops += 2.0 * a.size() * b.getShape().get(transposeB ? 0 : 1);
    }

    /** @return seconds spent in products since the last {@link #reset()} */
    double seconds() {
        return nanos / 1e9;
    }

    /** @return FLOPs of those products */
    double flops() {
        return flops;
    }

    /** @return products counted */
    long calls() {
        return calls;
    }

    /** Forgets what was counted (after warm-up). */
    void reset() {
        nanos = 0;
        flops = 0;
        calls = 0;
    }
}
