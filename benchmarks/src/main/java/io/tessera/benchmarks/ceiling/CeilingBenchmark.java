package io.tessera.benchmarks.ceiling;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.tessera.core.gemm.LibtorchGemm;
import io.tessera.core.gemm.OpenBlas;
import io.tessera.core.gemm.OpenBlasGemm;
import io.tessera.benchmarks.report.ConsoleTable;
import io.tessera.benchmarks.report.CsvReport;
import io.tessera.benchmarks.report.Environment;
import io.tessera.benchmarks.report.JsonReport;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.Samples;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code tessera bench ceiling}: the machine's matrix-product ceiling, and which fp32 GEMM is faster here.
 *
 * <p>Runs {@link MatmulCeiling} (libtorch fp32 and fp16, OpenBLAS fp32, bf16 recorded as unsupported), then
 * {@code matmul_ceiling.py} with the same shapes, repetitions and threads (PyTorch fp32, bf16, fp16), and
 * prints one table, the ceiling and the OpenBLAS ÷ libtorch ratio per shape. Every figure comes from this
 * run.
 *
 * <p>Thread safety: a process entry point; sets process-wide thread counts.
 */
public final class CeilingBenchmark {

    private CeilingBenchmark() {}

    /**
     * @param args see {@link CeilingOptions#usage()}
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * Parses, runs and reports.
     *
     * @param args command-line arguments
     * @param out console
     * @return the exit status: 0 on success, 2 for bad options
     */
    public static int run(String[] args, PrintStream out) {
        if (CeilingOptions.wantsHelp(args)) {
            out.print(CeilingOptions.usage());
            return 0;
        }
        CeilingOptions o;
        try {
            o = CeilingOptions.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.print(CeilingOptions.usage());
            return 2;
        }
        Report r = run(o, out);
        out.println();
        out.print(ConsoleTable.render(r));
        for (String line : comparisonLines(r.ceiling(), o.shapes())) {
            out.println(line);
        }
        try {
            if (o.json() != null) {
                JsonReport.write(o.json(), r);
                out.println("wrote " + o.json());
            }
            if (o.csv() != null) {
                CsvReport.write(o.csv(), CsvReport.ceiling(r.ceiling()));
                out.println("wrote " + o.csv());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the ceiling report: " + e.getMessage(), e);
        }
        return 0;
    }

    /**
     * Measures everything the options ask for.
     *
     * @param o options
     * @param out progress lines
     * @return the report (no result rows; the ceiling and notes)
     */
    public static Report run(CeilingOptions o, PrintStream out) {
        out.printf(Locale.ROOT, "matmul ceiling: %s, %d threads, %d warm-up + %d timed runs per backend%n", o.shapes(),
                o.threads(), o.warmup(), o.reps());
        List<MatmulMeasurement> rows = new ArrayList<>(
                new MatmulCeiling(o.shapes(), o.warmup(), o.reps(), o.threads(), o.openblas(), o.fp16(), out).measure());
        List<String> notes = new ArrayList<>();
        Map<String, String> env = Environment.describe();
        if (o.openblas()) {
            env.put("openblas", OpenBlas.version() + " (JavaCPP presets), " + OpenBlas.threads() + " threads");
        }
        if (o.reference()) {
            PyTorchReference ref = new PyTorchReference(o.python(), o.referenceDir(), o.referenceTimeout());
            PyTorchReference.Availability a = ref.probe();
            if (a.available()) {
                env.put("pytorch", a.version());
                rows.addAll(referenceMeasurements(ref, o.shapes(), List.of("fp32", "bf16", "fp16"), o.warmup(), o.reps(),
                        o.threads(), out));
            } else {
                notes.add("PyTorch reference skipped: " + a.reason());
            }
        }
        return new Report("ceiling", env, new Ceiling(rows, o.threads()), List.of(), notes);
    }

    /**
     * Runs {@code matmul_ceiling.py} and converts its lines into measurements (backend {@code pytorch}).
     *
     * @param ref the reference runner
     * @param shapes products
     * @param dtypes data types, among {@code fp32, bf16, fp16}
     * @param warmup untimed runs
     * @param reps timed runs
     * @param threads threads
     * @param out progress lines
     * @return one measurement per line the script printed
     */
    public static List<MatmulMeasurement> referenceMeasurements(PyTorchReference ref, List<MatmulShape> shapes,
                                                                List<String> dtypes, int warmup, int reps, int threads,
                                                                PrintStream out) {
        return referenceMeasurements(ref, shapes, dtypes, warmup, reps, threads, "cpu", out);
    }

    /**
     * {@link #referenceMeasurements(PyTorchReference, List, List, int, int, int, PrintStream)} on a device
     * ({@code cpu}, {@code cuda:0}, ...); on a GPU the script synchronises after each batch of products.
     *
     * @param ref the reference runner
     * @param shapes products
     * @param dtypes data types, among {@code fp32, bf16, fp16}
     * @param warmup untimed runs
     * @param reps timed runs
     * @param threads threads
     * @param device PyTorch's device string
     * @param out progress lines
     * @return one measurement per line the script printed
     */
    public static List<MatmulMeasurement> referenceMeasurements(PyTorchReference ref, List<MatmulShape> shapes,
                                                                List<String> dtypes, int warmup, int reps, int threads,
                                                                String device, PrintStream out) {
        List<String> shapeText = new ArrayList<>();
        shapes.forEach(s -> shapeText.add(s.toString()));
        List<JsonObject> lines = ref.run("matmul_ceiling.py", List.of("--shapes", String.join(",", shapeText),
                "--dtypes", String.join(",", dtypes), "--warmup", Integer.toString(warmup), "--reps", Integer.toString(reps),
                "--device", device), threads);
        List<MatmulMeasurement> measured = new ArrayList<>();
        for (JsonObject j : lines) {
            MatmulShape shape = MatmulShape.parse(j.get("shape").getAsString());
            String dtype = j.get("dtype").getAsString();
            String note = "PyTorch " + j.get("torch").getAsString() + " (matmul_ceiling.py" + (device.equals("cpu") ? ")" : ", " + device + ")");
            MatmulMeasurement m;
            if ("measured".equals(j.get("status").getAsString())) {
                List<Double> secs = new ArrayList<>();
                for (JsonElement e : j.getAsJsonArray("seconds")) {
                    secs.add(e.getAsDouble());
                }
                JsonElement err = j.get("max_relative_error");
                m = new MatmulMeasurement("pytorch", dtype, shape, MatmulMeasurement.Status.MEASURED, new Samples(secs),
                        err == null || err.isJsonNull() ? Double.NaN : err.getAsDouble(),
                        dtype.equals("fp32") ? note : note + "; error against PyTorch's fp32 product");
            } else {
                m = MatmulMeasurement.notMeasured("pytorch", dtype, shape, MatmulMeasurement.Status.FAILED,
                        note + ": " + j.get("note").getAsString());
            }
            out.printf(Locale.ROOT, "  %-9s %-4s %-15s %s%n", "pytorch", dtype, shape,
                    m.measured() ? String.format(Locale.ROOT, "%8.1f GFLOP/s median", m.gflops()) : m.note());
            measured.add(m);
        }
        return measured;
    }

    /**
     * The per-shape verdict lines: which fp32 GEMM is faster in this process, by how much.
     *
     * @param c the ceiling
     * @param shapes the shapes measured
     * @return one line per shape with both backends measured
     */
    public static List<String> comparisonLines(Ceiling c, List<MatmulShape> shapes) {
        List<String> lines = new ArrayList<>();
        for (MatmulShape s : shapes) {
            Optional<MatmulMeasurement> t = c.find(LibtorchGemm.NAME, "fp32", s);
            Optional<MatmulMeasurement> b = c.find(OpenBlasGemm.NAME, "fp32", s);
            if (t.isPresent() && b.isPresent()) {
                double ratio = b.get().gflops() / t.get().gflops();
                lines.add(String.format(Locale.ROOT, "%s fp32: %s is faster here (openblas %.1f vs libtorch %.1f GFLOP/s,"
                        + " openblas/libtorch = %.2fx; results agree to %.1e)", s, ratio >= 1 ? "openblas" : "libtorch",
                        b.get().gflops(), t.get().gflops(), ratio, b.get().maxRelativeError()));
            }
        }
        return lines;
    }
}
