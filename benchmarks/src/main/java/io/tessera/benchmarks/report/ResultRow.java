package io.tessera.benchmarks.report;

import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One measured configuration of one system: the unit every report, CSV line and plot point is made of.
 *
 * <p>Rates are totals over the run's processes: {@code tokensPerSecond = globalBatch·seq / stepSeconds},
 * {@code tflops = F_step / stepSeconds} with {@code F_step} from
 * {@link io.tessera.models.flops.TransformerFlops#trainingStep} over the global batch. Fields that do
 * not apply hold {@code NaN} ({@link #efficiency} outside scaling runs, {@link #mfu} without a ceiling) and
 * are written as {@code null} in JSON and empty in CSV.
 *
 * <p>Thread safety: immutable.
 *
 * @param system {@code tessera} or {@code pytorch}
 * @param benchmark {@code step}, {@code weak} or {@code strong}
 * @param model a label such as {@code bert-base/L2}
 * @param layers L
 * @param hidden h
 * @param seq s
 * @param batchPerRank sequences per data-parallel rank per step
 * @param world processes
 * @param tp tensor-parallel degree
 * @param dp data-parallel degree ({@code world / tp})
 * @param threadsPerRank intra-op threads of each process
 * @param stepSeconds median seconds per step
 * @param tokensPerSecond tokens per second over all ranks
 * @param tflops achieved TFLOP/s over all ranks
 * @param mfu {@code tflops} over the measured ceiling, NaN without one
 * @param efficiency throughput efficiency {@code throughput(N) / (N·throughput(1))}, NaN outside scaling runs; on a
 *     CPU it includes thread scaling (N ranks of cores/N threads against one rank of all cores)
 * @param detail free text: backend versions, GEMM strategy
 * @param device where each rank computed: {@code cpu}, {@code cuda:N} (a step benchmark on that GPU), or
 *     {@code cuda} (a scaling run: each rank on cuda:LOCAL_RANK); the GPU's name is the report's
 *     environment entry {@code gpu} when the PyTorch reference ran
 * @param precision the compute precision, {@code fp32} or {@code fp16} (fp32 master weights); the MFU
 *     divides by the ceiling measured in that precision
 * @param stepSecondsNoReduction median seconds per step of the same point with the data-parallel gradient
 *     reduction replaced by a no-op, NaN where that run was not made (it is made at dp ≥ 2, tp = 1)
 * @param exposedComm exposed-communication fraction {@code 1 − stepSecondsNoReduction / stepSeconds}
 *     ({@link io.tessera.benchmarks.scaling.ExposedCommunication}), NaN where that run was not made
 */
public record ResultRow(String system, String benchmark, String model, int layers, int hidden, int seq, int batchPerRank,
                        int world, int tp, int dp, int threadsPerRank, double stepSeconds, double tokensPerSecond,
                        double tflops, double mfu, double efficiency, String detail, String device, String precision,
                        double stepSecondsNoReduction, double exposedComm) {

    /** The Java implementation. */
    public static final String TESSERA = "tessera";
    /** The PyTorch eager reference. */
    public static final String PYTORCH = "pytorch";

    /**
     * @throws IllegalArgumentException if a field breaks its rule (the message names it)
     */
    public ResultRow {
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(benchmark, "benchmark");
        Objects.requireNonNull(model, "model");
        detail = detail == null ? "" : detail;
        device = device == null ? "cpu" : device;
        precision = precision == null ? "fp32" : precision;
        if (world < 1 || tp < 1 || dp < 1 || tp * dp != world) {
            throw new IllegalArgumentException("result row " + system + " " + model + ": world = " + world + ", tp = " + tp
                    + ", dp = " + dp + "; need positive degrees with tp·dp = world");
        }
        if (!(stepSeconds > 0) || !(tokensPerSecond > 0)) {
            throw new IllegalArgumentException("result row " + system + " " + model + ": stepSeconds = " + stepSeconds
                    + ", tokensPerSecond = " + tokensPerSecond + "; both must be positive measurements");
        }
    }

    /**
     * A row from a measured step time: rates follow from the shape and the data-parallel degree.
     *
     * <pre>
     *   global batch  B_g = perRank.batch · dp
     *   tokens/s      B_g · s / stepSeconds
     *   TFLOP/s       TransformerFlops.trainingStep(perRank with B_g) / stepSeconds / 10¹²
     *   MFU           TFLOP/s · 1000 / ceiling GFLOP/s        (NaN without a ceiling; see Ceiling)
     * </pre>
     *
     * @param system {@link #TESSERA} or {@link #PYTORCH}
     * @param benchmark {@code step}, {@code weak} or {@code strong}
     * @param model label
     * @param perRank the model with the per-rank batch
     * @param tp tensor-parallel degree
     * @param dp data-parallel degree
     * @param threadsPerRank threads of each process
     * @param stepSeconds median seconds per step
     * @param ceiling the measured ceiling, or null
     * @param detail free text
     * @return the row, efficiency NaN
     */
    public static ResultRow measured(String system, String benchmark, String model, ModelShape perRank, int tp, int dp,
                                     int threadsPerRank, double stepSeconds, Ceiling ceiling, String detail) {
        return measured(system, benchmark, model, perRank, tp, dp, threadsPerRank, stepSeconds, ceiling, detail, "cpu", "fp32");
    }

    /**
     * {@link #measured(String, String, String, ModelShape, int, int, int, double, Ceiling, String)} on a
     * device and in a precision; the MFU divides by the ceiling of that precision
     * ({@link Ceiling#mfu(double, String)}).
     *
     * @param system {@link #TESSERA} or {@link #PYTORCH}
     * @param benchmark {@code step}, {@code weak} or {@code strong}
     * @param model label
     * @param perRank the model with the per-rank batch
     * @param tp tensor-parallel degree
     * @param dp data-parallel degree
     * @param threadsPerRank threads of each process
     * @param stepSeconds median seconds per step
     * @param ceiling the measured ceiling, or null
     * @param detail free text
     * @param device {@code cpu}, {@code cuda:N} or {@code cuda} (see the record components)
     * @param precision {@code fp32} or {@code fp16}
     * @return the row, efficiency NaN
     */
    public static ResultRow measured(String system, String benchmark, String model, ModelShape perRank, int tp, int dp,
                                     int threadsPerRank, double stepSeconds, Ceiling ceiling, String detail, String device,
                                     String precision) {
        ModelShape global = perRank.withBatch(perRank.batch() * dp);
        double tflops = TransformerFlops.teraflopsPerSecond(global, stepSeconds);
        return new ResultRow(system, benchmark, model, perRank.layers(), perRank.hidden(), perRank.seq(), perRank.batch(),
                tp * dp, tp, dp, threadsPerRank, stepSeconds, global.tokensPerStep() / stepSeconds, tflops,
                ceiling == null ? Double.NaN : ceiling.mfu(tflops, precision), Double.NaN, detail, device, precision,
                Double.NaN, Double.NaN);
    }

    /**
     * A warning when some row's MFU exceeds 100%, which means the ceiling run was slowed by other
     * processes more than the steps were.
     *
     * @param rows result rows
     * @return the warning, or empty when every MFU is at most 1 (or not applicable)
     */
    public static Optional<String> implausibleMfu(List<ResultRow> rows) {
        for (ResultRow r : rows) {
            if (r.mfu() > 1) {
                return Optional.of(String.format(Locale.ROOT, "MFU above 100%% (%s %s %.1f%%): the ceiling run was"
                        + " slowed by other processes more than the steps were; rerun on a quiet machine or raise"
                        + " --ceiling-reps", r.system(), r.model(), 100 * r.mfu()));
            }
        }
        return Optional.empty();
    }

    /** @return the global batch, {@code batchPerRank · dp} */
    public int globalBatch() {
        return batchPerRank * dp;
    }

    /** @return a copy with the scaling efficiency set */
    public ResultRow withEfficiency(double value) {
        return new ResultRow(system, benchmark, model, layers, hidden, seq, batchPerRank, world, tp, dp, threadsPerRank,
                stepSeconds, tokensPerSecond, tflops, mfu, value, detail, device, precision, stepSecondsNoReduction,
                exposedComm);
    }

    /**
     * @param seconds median seconds per step with the no-op reduction
     * @param fraction the exposed-communication fraction of this row against {@code seconds}
     * @return a copy with both set
     */
    public ResultRow withNoReduction(double seconds, double fraction) {
        return new ResultRow(system, benchmark, model, layers, hidden, seq, batchPerRank, world, tp, dp, threadsPerRank,
                stepSeconds, tokensPerSecond, tflops, mfu, efficiency, detail, device, precision, seconds, fraction);
    }

    /** @return the key rows of two systems are paired on: benchmark, model, world, tp, dp, device, precision */
    public String pairingKey() {
        return String.format(Locale.ROOT, "%s|%s|%d|%d|%d|%s|%s", benchmark, model, world, tp, dp, device, precision);
    }
}
