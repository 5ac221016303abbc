package io.tessera.benchmarks.scaling;

import io.tessera.benchmarks.report.ResultRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The share of a data-parallel step spent waiting on gradient reduction that backward did not hide:
 *
 * <pre>
 *   exposed = 1 − T_no-reduction / T_reduction
 * </pre>
 *
 * <p>with {@code T_reduction} the median step time of the real run and {@code T_no-reduction} the
 * median step time of the same ranks, threads and batches with the reduction replaced by a no-op
 * (Tessera: {@link NoOpCommunicator} as the data-parallel group; PyTorch: every step inside DDP's
 * {@code no_sync()}). 0 means the reduction is fully overlapped; 0.25 means a quarter of the step is
 * communication that nothing overlapped. Unlike the throughput efficiency, thread scaling cancels out:
 * both runs have the same threads per rank.
 *
 * <p>Noise: both medians are measured, so a fully hidden reduction can come out slightly negative (the
 * no-op run happened to be slower). The fraction is reported as measured, negative values included, in
 * the console, JSON and CSV alike; it is not clamped.
 *
 * <p>Thread safety: stateless.
 */
public final class ExposedCommunication {

    private ExposedCommunication() {}

    /**
     * @param withReduction median step seconds with the real reduction
     * @param withoutReduction median step seconds with the no-op reduction
     * @return {@code 1 − withoutReduction / withReduction}, possibly negative
     * @throws IllegalArgumentException unless both times are positive
     */
    public static double of(double withReduction, double withoutReduction) {
        if (!(withReduction > 0) || !(withoutReduction > 0) || Double.isInfinite(withReduction)
                || Double.isInfinite(withoutReduction)) {
            throw new IllegalArgumentException("exposed communication: step with reduction = " + withReduction
                    + " s, without = " + withoutReduction + " s; both must be positive, finite measurements");
        }
        return 1 - withoutReduction / withReduction;
    }

    /**
     * Attaches each no-reduction measurement to the row of the same system, benchmark, model and degrees.
     *
     * @param rows the real runs
     * @param baselines the no-reduction runs (their rows are not kept)
     * @return {@code rows} in order, with {@link ResultRow#stepSecondsNoReduction()} and {@link ResultRow#exposedComm()} set
     *     where a baseline exists
     */
    public static List<ResultRow> attach(List<ResultRow> rows, List<ResultRow> baselines) {
        List<ResultRow> out = new ArrayList<>(rows.size());
        for (ResultRow r : rows) {
            ResultRow match = null;
            for (ResultRow b : baselines) {
                if (b.system().equals(r.system()) && b.pairingKey().equals(r.pairingKey())) {
                    match = b;
                }
            }
            out.add(match == null ? r : r.withNoReduction(match.stepSeconds(), of(r.stepSeconds(), match.stepSeconds())));
        }
        return out;
    }

    /**
     * @param fraction an exposed fraction, or NaN
     * @return {@code 0.031} style text, empty for NaN
     */
    public static String format(double fraction) {
        return Double.isNaN(fraction) ? "" : String.format(Locale.ROOT, "%.3f", fraction);
    }
}
