package io.tessera.benchmarks.ceiling;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The measured matrix-product ceiling of this machine: every {@link MatmulMeasurement} of one run, and
 * the figure MFU is computed against.
 *
 * <p>The ceiling is the highest fp32 rate among the measured rows (every backend and shape, the PyTorch
 * reference's included), so that Tessera and PyTorch are divided by the same number and neither can
 * raise its MFU by picking a slow BLAS. Each row's rate here is its <em>best</em> run
 * ({@link MatmulMeasurement#bestGflops()}), not its median: the ceiling is an upper bound, and load from
 * other processes only ever lowers a rate, so the fastest of N runs estimates it best on a shared
 * machine. Medians are reported beside it, and they decide which backend is faster.
 *
 * <p>Thread safety: immutable.
 *
 * @param measurements the rows, in measurement order
 * @param threads the intra-op thread count every backend ran with
 */
public record Ceiling(List<MatmulMeasurement> measurements, int threads) {

    /**
     * @throws IllegalArgumentException if no fp32 row was measured
     */
    public Ceiling {
        measurements = List.copyOf(Objects.requireNonNull(measurements, "measurements"));
        if (measurements.stream().noneMatch(m -> m.measured() && m.dtype().equals("fp32"))) {
            throw new IllegalArgumentException("ceiling: no fp32 product was measured; run at least one backend");
        }
    }

    /** @return the fp32 row with the highest best-run rate */
    public MatmulMeasurement best() {
        return best("fp32").orElseThrow();
    }

    /**
     * @param dtype {@code fp32}, {@code fp16} or {@code bf16}
     * @return the row of that type with the highest best-run rate, if any was measured
     */
    public Optional<MatmulMeasurement> best(String dtype) {
        MatmulMeasurement best = null;
        for (MatmulMeasurement m : measurements) {
            if (m.measured() && m.dtype().equals(dtype) && (best == null || m.bestGflops() > best.bestGflops())) {
                best = m;
            }
        }
        return Optional.ofNullable(best);
    }

    /** @return the ceiling in GFLOP/s: {@code best().bestGflops()} */
    public double gflops() {
        return best().bestGflops();
    }

    /**
     * The measured row of a backend, data type and shape.
     *
     * @param backend e.g. {@code openblas}
     * @param dtype e.g. {@code fp32}
     * @param shape the product
     * @return the row, if measured
     */
    public Optional<MatmulMeasurement> find(String backend, String dtype, MatmulShape shape) {
        return measurements.stream()
                .filter(m -> m.measured() && m.backend().equals(backend) && m.dtype().equals(dtype) && m.shape().equals(shape))
                .findFirst();
    }

    /**
     * Model FLOP utilisation: achieved over ceiling. The ceiling is measured with {@link #threads()}
     * threads in one process; a run of several processes that together use those threads is compared
     * with its total rate.
     *
     * @param achievedTflops achieved TFLOP/s, summed over the processes sharing the machine
     * @return {@code achievedTflops · 1000 / gflops()}
     */
    public double mfu(double achievedTflops) {
        return achievedTflops * 1000 / gflops();
    }

    /**
     * MFU against the ceiling of one precision: a step that computes in fp16 is divided by the fastest
     * fp16 product measured, as an fp32 step by the fastest fp32 one.
     *
     * @param achievedTflops achieved TFLOP/s
     * @param dtype the precision the step computes in
     * @return {@code achievedTflops · 1000 / best(dtype).bestGflops()}, NaN when no product of that type was measured
     */
    public double mfu(double achievedTflops, String dtype) {
        return best(dtype).map(m -> achievedTflops * 1000 / m.bestGflops()).orElse(Double.NaN);
    }
}
