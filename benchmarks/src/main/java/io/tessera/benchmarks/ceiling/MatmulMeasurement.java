package io.tessera.benchmarks.ceiling;

import io.tessera.benchmarks.report.Samples;
import java.util.Objects;

/**
 * One backend's rate on one product shape and data type, or why there is none.
 *
 * <p>Thread safety: immutable.
 *
 * @param backend who computed it: {@code libtorch}, {@code openblas} or {@code pytorch} (the reference
 *     script)
 * @param dtype {@code fp32}, {@code fp16} or {@code bf16}
 * @param shape the product
 * @param status whether it was measured
 * @param samples seconds per product, null unless measured
 * @param maxRelativeError {@code max|C - C_ref| / max|C_ref|} against the fp32 libtorch result (NaN where
 *     not compared)
 * @param note why it was not measured, or what was compared
 */
public record MatmulMeasurement(String backend, String dtype, MatmulShape shape, Status status, Samples samples,
                                double maxRelativeError, String note) {

    /** Whether a rate exists. */
    public enum Status {
        /** Timed; {@link #samples()} holds the durations. */
        MEASURED,
        /** Not attempted because the stack cannot run it (the note says why). */
        UNSUPPORTED,
        /** Attempted and failed (the note holds the error). */
        FAILED
    }

    /**
     * @throws IllegalArgumentException if a measured row has no samples or an unmeasured one has some
     */
    public MatmulMeasurement {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(status, "status");
        note = note == null ? "" : note;
        if ((status == Status.MEASURED) != (samples != null)) {
            throw new IllegalArgumentException("matmul measurement " + backend + " " + dtype + " " + shape + ": status "
                    + status + (samples == null ? " needs samples" : " must not carry samples"));
        }
    }

    /**
     * A row for something that was not run.
     *
     * @param backend the backend
     * @param dtype the data type
     * @param shape the shape
     * @param status UNSUPPORTED or FAILED
     * @param note the reason
     * @return the row
     */
    public static MatmulMeasurement notMeasured(String backend, String dtype, MatmulShape shape, Status status, String note) {
        return new MatmulMeasurement(backend, dtype, shape, status, null, Double.NaN, note);
    }

    /** @return whether a rate exists */
    public boolean measured() {
        return status == Status.MEASURED;
    }

    /** @return GFLOP/s at the median duration, NaN if not measured */
    public double gflops() {
        return measured() ? shape.flops() / samples.median() / 1e9 : Double.NaN;
    }

    /** @return GFLOP/s at the shortest duration, NaN if not measured */
    public double bestGflops() {
        return measured() ? shape.flops() / samples.min() / 1e9 : Double.NaN;
    }
}
