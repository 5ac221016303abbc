package io.tessera.benchmarks.scaling;

import io.tessera.benchmarks.report.ResultRow;
import java.util.ArrayList;
import java.util.List;

/**
 * Scaling efficiency of result rows against their single-process baseline:
 *
 * <pre>
 *   efficiency(N) = throughput(N) / (N · throughput(1))
 * </pre>
 *
 * <p>with throughput in tokens/s over all ranks and N the number of processes (data- and tensor-parallel
 * alike). In weak scaling the per-rank batch is fixed, so perfect scaling is N times the tokens/s; in
 * strong scaling the global batch is fixed and perfect scaling is N times faster steps, the same ratio.
 * The baseline of a row is the row of the same system, benchmark and model with {@code world = 1}.
 *
 * <p>Thread safety: stateless.
 */
public final class ScalingEfficiency {

    private ScalingEfficiency() {}

    /**
     * @param throughputN tokens/s at N processes
     * @param n processes
     * @param throughput1 tokens/s at one process
     * @return {@code throughputN / (n · throughput1)}
     */
    public static double of(double throughputN, int n, double throughput1) {
        if (n < 1 || !(throughput1 > 0) || !(throughputN > 0)) {
            throw new IllegalArgumentException("efficiency: throughput(N) = " + throughputN + ", N = " + n
                    + ", throughput(1) = " + throughput1 + "; need positive throughputs and N >= 1");
        }
        return throughputN / (n * throughput1);
    }

    /**
     * Sets the efficiency of every row that has a baseline; rows without one keep NaN.
     *
     * @param rows rows of one or more systems, benchmarks and models
     * @return the rows in the same order, efficiencies filled in
     */
    public static List<ResultRow> apply(List<ResultRow> rows) {
        List<ResultRow> out = new ArrayList<>(rows.size());
        for (ResultRow r : rows) {
            ResultRow base = null;
            for (ResultRow b : rows) {
                if (b.world() == 1 && b.system().equals(r.system()) && b.benchmark().equals(r.benchmark())
                        && b.model().equals(r.model())) {
                    base = b;
                }
            }
            out.add(base == null ? r : r.withEfficiency(of(r.tokensPerSecond(), r.world(), base.tokensPerSecond())));
        }
        return out;
    }
}
