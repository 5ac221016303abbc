package io.tessera.benchmarks.report;

import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a {@link Report} as fixed-width text tables for the console. "tput eff (incl. threads)" is the
 * throughput efficiency {@code throughput(N) / (N·throughput(1))}, which on a CPU also measures how N
 * ranks of cores/N threads compare with one rank of all cores; "exposed comm" is
 * {@code 1 − step s no-reduce / step s} as measured (negative values shown as they are).
 *
 * <p>Thread safety: stateless.
 */
public final class ConsoleTable {

    private ConsoleTable() {}

    /**
     * @param report the report
     * @return the ceiling table (if any), the result rows, the comparisons and the notes
     */
    public static String render(Report report) {
        StringBuilder sb = new StringBuilder();
        if (report.ceiling() != null) {
            sb.append(ceiling(report.ceiling())).append('\n');
        }
        if (!report.rows().isEmpty()) {
            sb.append(rows(report.rows())).append('\n');
        }
        List<Comparison> comps = report.comparisons();
        if (!comps.isEmpty()) {
            sb.append(comparisons(comps)).append('\n');
        }
        for (String n : report.notes()) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /**
     * @param c a ceiling
     * @return one line per measurement and the ceiling line
     */
    public static String ceiling(Ceiling c) {
        List<String[]> t = new ArrayList<>();
        t.add(new String[] {"backend", "dtype", "shape", "GFLOP/s", "best", "runs", "max rel err", "note"});
        for (MatmulMeasurement m : c.measurements()) {
            t.add(new String[] {m.backend(), m.dtype(), m.shape().toString(),
                m.measured() ? f1(m.gflops()) : m.status().name().toLowerCase(Locale.ROOT),
                m.measured() ? f1(m.bestGflops()) : "", m.measured() ? Integer.toString(m.samples().count()) : "",
                Double.isNaN(m.maxRelativeError()) ? "" : String.format(Locale.ROOT, "%.1e", m.maxRelativeError()),
                m.measured() ? "" : m.note()});
        }
        MatmulMeasurement best = c.best();
        StringBuilder lines = new StringBuilder(table(t)).append(String.format(Locale.ROOT, "ceiling: %.1f GFLOP/s fp32 (%s, %s,"
                + " %d threads, best of %d runs; median %.1f)%n", c.gflops(), best.backend(), best.shape(), c.threads(),
                best.samples().count(), best.gflops()));
        for (String dtype : List.of("fp16", "bf16")) {
            c.best(dtype).ifPresent(h -> lines.append(String.format(Locale.ROOT, "ceiling: %.1f GFLOP/s %s (%s, %s)%n",
                    h.bestGflops(), dtype, h.backend(), h.shape())));
        }
        return lines.toString();
    }

    /**
     * @param rows result rows
     * @return a table, one line per row
     */
    public static String rows(List<ResultRow> rows) {
        List<String[]> t = new ArrayList<>();
        t.add(new String[] {"system", "bench", "model", "device", "prec", "world", "tp", "dp", "thr/rank", "batch/rank", "step s",
            "tokens/s", "TFLOP/s", "MFU", "tput eff (incl. threads)", "step s no-reduce", "exposed comm"});
        for (ResultRow r : rows) {
            t.add(new String[] {r.system(), r.benchmark(), r.model(), r.device(), r.precision(), Integer.toString(r.world()),
                Integer.toString(r.tp()),
                Integer.toString(r.dp()), Integer.toString(r.threadsPerRank()), Integer.toString(r.batchPerRank()),
                String.format(Locale.ROOT, "%.4f", r.stepSeconds()), f1(r.tokensPerSecond()),
                String.format(Locale.ROOT, "%.4f", r.tflops()), pct(r.mfu()), pct(r.efficiency()), f4(r.stepSecondsNoReduction()),
                f3(r.exposedComm())});
        }
        return table(t);
    }

    /**
     * @param comps Tessera/PyTorch pairs
     * @return a table of ratios
     */
    public static String comparisons(List<Comparison> comps) {
        List<String[]> t = new ArrayList<>();
        t.add(new String[] {"bench", "model", "world", "tp", "dp", "tessera tok/s", "pytorch tok/s", "tessera/pytorch",
            "tput eff tessera", "tput eff pytorch", "eff ratio", "exposed comm tessera", "exposed comm pytorch"});
        for (Comparison c : comps) {
            ResultRow r = c.tessera();
            t.add(new String[] {r.benchmark(), r.model(), Integer.toString(r.world()), Integer.toString(r.tp()),
                Integer.toString(r.dp()), f1(r.tokensPerSecond()), f1(c.pytorch().tokensPerSecond()),
                String.format(Locale.ROOT, "%.3fx", c.throughputRatio()), pct(r.efficiency()), pct(c.pytorch().efficiency()),
                Double.isNaN(c.efficiencyRatio()) ? "" : String.format(Locale.ROOT, "%.3f", c.efficiencyRatio()),
                f3(r.exposedComm()), f3(c.pytorch().exposedComm())});
        }
        return table(t);
    }

    private static String table(List<String[]> t) {
        int cols = t.get(0).length;
        int[] w = new int[cols];
        for (String[] r : t) {
            for (int i = 0; i < cols; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < t.size(); j++) {
            String[] r = t.get(j);
            for (int i = 0; i < cols; i++) {
                sb.append(i == 0 ? "" : "  ").append(pad(r[i], w[i], i > 0 && j > 0 && looksNumeric(r[i])));
            }
            trimTrailing(sb);
            sb.append('\n');
            if (j == 0) {
                for (int i = 0; i < cols; i++) {
                    sb.append(i == 0 ? "" : "  ").append("-".repeat(w[i]));
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static void trimTrailing(StringBuilder sb) {
        int end = sb.length();
        while (end > 0 && sb.charAt(end - 1) == ' ') {
            end--;
        }
        sb.setLength(end);
    }

    private static boolean looksNumeric(String s) {
        return !s.isEmpty() && (Character.isDigit(s.charAt(0)) || s.charAt(0) == '-');
    }

    private static String pad(String s, int width, boolean right) {
        String fill = " ".repeat(width - s.length());
        return right ? fill + s : s + fill;
    }

    private static String f1(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String f3(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
