package io.tessera.benchmarks.step;

import io.tessera.benchmarks.report.Comparison;
import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.ResultRow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Several complete runs of {@code bench step} ({@code --repeats N}: ceiling, Tessera and PyTorch each
 * time), summarised by their median and spread, so that a goal is judged on a median rather than on one
 * noisy measurement.
 *
 * <pre>
 *   per figure f (Tessera MFU, Tessera tokens/s, PyTorch tokens/s, Tessera ÷ PyTorch):
 *     median = the middle value of f over the runs (mean of the two middle ones for an even count)
 *     spread = max f − min f, also given as ±(spread / 2) / median
 *   median run = the run whose Tessera MFU is the lower middle one; its report is the one written
 *   goals      = each judged on its own figure's median (StepBenchmark.goals(Repeats))
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param reports the runs, in the order they ran, at least one
 */
public record Repeats(List<Report> reports) {

    /** @throws IllegalArgumentException for no runs or a run without a Tessera row */
    public Repeats {
        reports = List.copyOf(reports);
        if (reports.isEmpty()) {
            throw new IllegalArgumentException("repeats: no runs; --repeats must be at least 1");
        }
        for (Report r : reports) {
            tessera(r);
        }
    }

    /** Median and spread of one figure over the runs. */
    public record Figure(String name, double median, double min, double max) {

        /** @return {@code max − min} */
        public double spread() {
            return max - min;
        }

        /** @return half the spread relative to the median, e.g. 0.03 for ±3% */
        public double relativeHalfSpread() {
            return spread() / 2 / median;
        }
    }

    /** @return Tessera's MFU against each run's own ceiling */
    public Figure tesseraMfu() {
        return figure("tessera MFU", r -> tessera(r).mfu());
    }

    /** @return Tessera's tokens/s */
    public Figure tesseraTokensPerSecond() {
        return figure("tessera tokens/s", r -> tessera(r).tokensPerSecond());
    }

    /** @return Tessera ÷ PyTorch tokens/s, NaN figures when the runs had no PyTorch row */
    public Figure throughputRatio() {
        return figure("tessera/pytorch tokens/s", r -> {
            List<Comparison> c = r.comparisons();
            return c.isEmpty() ? Double.NaN : c.get(0).throughputRatio();
        });
    }

    /** @return the run whose Tessera MFU is the (lower) middle one */
    public Report medianRun() {
        List<Report> sorted = new ArrayList<>(reports);
        sorted.sort(Comparator.comparingDouble(r -> tessera(r).mfu()));
        return sorted.get((sorted.size() - 1) / 2);
    }

    /** @return one line per figure: {@code tessera MFU: median 0.5120 over 3 runs (0.4980 .. 0.5300, ±3.1%)} */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        for (Figure f : List.of(tesseraMfu(), tesseraTokensPerSecond(), throughputRatio())) {
            if (!Double.isNaN(f.median())) {
                out.add(String.format(Locale.ROOT, "%s: median %.4g over %d runs (%.4g .. %.4g, ±%.1f%%)", f.name(),
                        f.median(), reports.size(), f.min(), f.max(), 100 * f.relativeHalfSpread()));
            }
        }
        return out;
    }

    private Figure figure(String name, ToDoubleFunction<Report> value) {
        double[] v = reports.stream().mapToDouble(value).sorted().toArray();
        if (Double.isNaN(v[v.length - 1]) || Double.isNaN(v[0])) {
            return new Figure(name, Double.NaN, Double.NaN, Double.NaN);
        }
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return new Figure(name, median, v[0], v[n - 1]);
    }

    private static ResultRow tessera(Report r) {
        return r.rows().stream().filter(row -> row.system().equals(ResultRow.TESSERA)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("repeats: a " + r.benchmark() + " run has no Tessera row"));
    }
}
