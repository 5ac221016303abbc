package io.tessera.core;

import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import java.util.Objects;

/**
 * A run's compute settings, carried from where the run is set up to every step's {@link
 * io.tessera.core.tape.Tape}: the GEMM strategy the parallel layers use for fp32 CPU products, and the
 * libtorch intra-op thread count the run was set up with.
 *
 * <pre>{@code
 * Compute compute = Compute.of(GemmBackend.OPENBLAS.create(), 4).apply();     // threads are libtorch's
 * try (Tape tape = new Tape(manager, seed, true).gemm(compute.gemm())) { ... }  // layers use this strategy
 * }</pre>
 *
 * <p>Two runs in one JVM (ranks as threads, a benchmark beside a training run) may use different GEMM
 * strategies. The thread count cannot differ between them: libtorch keeps one per process, so
 * {@link #apply()} sets it for the whole process and the value here is what the run asked for.
 *
 * <p>Thread safety: immutable.
 *
 * @param gemm the product strategy of the layers (with its per-shape plan, when it has one)
 * @param threads libtorch intra-op threads, at least 1
 */
public record Compute(Gemm gemm, int threads) {

    public Compute {
        Objects.requireNonNull(gemm, "gemm");
        if (threads < 1) {
            throw new IllegalArgumentException("threads = " + threads + ": must be at least 1; hint: --threads N");
        }
    }

    /**
     * @param gemm the product strategy
     * @param threads libtorch intra-op threads
     * @return the settings
     */
    public static Compute of(Gemm gemm, int threads) {
        return new Compute(gemm, threads);
    }

    /**
     * The settings this process is configured with: {@link Gemms#current()} (from {@code tessera.gemm} /
     * {@code TESSERA_GEMM}, default planned) and libtorch's thread count now.
     *
     * @return the settings
     */
    public static Compute ofProcess() {
        return new Compute(Gemms.current(), Math.max(1, Torch.threads()));
    }

    /**
     * Sets libtorch's intra-op thread count to {@link #threads()} (for the whole process).
     *
     * @return this
     */
    public Compute apply() {
        Torch.setThreads(threads);
        return this;
    }
}
