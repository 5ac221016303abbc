package io.tessera.benchmarks.report;

import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes result rows and ceiling measurements as CSV (RFC 4180: comma-separated, a header line, fields
 * with a comma, quote or line break quoted, NaN as an empty field).
 *
 * <p>Thread safety: stateless.
 */
public final class CsvReport {

    /** Columns of {@link #rows}. */
    public static final List<String> ROW_COLUMNS = List.of("system", "benchmark", "model", "layers", "hidden", "seq",
            "batch_per_rank", "global_batch", "world", "tp", "dp", "threads_per_rank", "step_s", "tokens_per_s", "tflops",
            "mfu", "efficiency", "detail", "device", "precision", "step_s_no_reduction", "exposed_comm");

    /** Columns of {@link #ceiling}. */
    public static final List<String> CEILING_COLUMNS = List.of("backend", "dtype", "shape", "status", "gflops",
            "best_gflops", "runs", "max_relative_error", "threads", "note");

    private CsvReport() {}

    /**
     * @param rows result rows
     * @return CSV text with a header line
     */
    public static String rows(List<ResultRow> rows) {
        StringBuilder sb = new StringBuilder(String.join(",", ROW_COLUMNS)).append('\n');
        for (ResultRow r : rows) {
            line(sb, List.of(r.system(), r.benchmark(), r.model(), Integer.toString(r.layers()), Integer.toString(r.hidden()),
                    Integer.toString(r.seq()), Integer.toString(r.batchPerRank()), Integer.toString(r.globalBatch()),
                    Integer.toString(r.world()), Integer.toString(r.tp()), Integer.toString(r.dp()),
                    Integer.toString(r.threadsPerRank()), num(r.stepSeconds()), num(r.tokensPerSecond()), num(r.tflops()),
                    num(r.mfu()), num(r.efficiency()), r.detail(), r.device(), r.precision(),
                    num(r.stepSecondsNoReduction()), num(r.exposedComm())));
        }
        return sb.toString();
    }

    /**
     * @param ceiling the measured ceiling
     * @return CSV text with a header line, one line per measurement
     */
    public static String ceiling(Ceiling ceiling) {
        StringBuilder sb = new StringBuilder(String.join(",", CEILING_COLUMNS)).append('\n');
        for (MatmulMeasurement m : ceiling.measurements()) {
            line(sb, List.of(m.backend(), m.dtype(), m.shape().toString(), m.status().name().toLowerCase(Locale.ROOT),
                    num(m.gflops()), num(m.bestGflops()), Integer.toString(m.measured() ? m.samples().count() : 0),
                    num(m.maxRelativeError()), Integer.toString(ceiling.threads()), m.note()));
        }
        return sb.toString();
    }

    /**
     * Writes text to a file, creating parent directories.
     *
     * @param file destination
     * @param csv the text from {@link #rows} or {@link #ceiling}
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, String csv) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, csv, StandardCharsets.UTF_8);
    }

    private static void line(StringBuilder sb, List<String> fields) {
        List<String> quoted = new ArrayList<>(fields.size());
        for (String f : fields) {
            quoted.add(quote(f));
        }
        sb.append(String.join(",", quoted)).append('\n');
    }

    static String quote(String f) {
        if (f.indexOf(',') < 0 && f.indexOf('"') < 0 && f.indexOf('\n') < 0 && f.indexOf('\r') < 0) {
            return f;
        }
        return '"' + f.replace("\"", "\"\"") + '"';
    }

    private static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "" : Double.toString(v);
    }
}
