package io.tessera.benchmarks.step;

import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.CeilingBenchmark;
import io.tessera.benchmarks.ceiling.MatmulCeiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import io.tessera.benchmarks.ceiling.MatmulShape;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.gemm.MeasuredGemm;
import io.tessera.core.gemm.OpenBlas;
import io.tessera.benchmarks.report.Comparison;
import io.tessera.benchmarks.report.ConsoleTable;
import io.tessera.benchmarks.report.CsvReport;
import io.tessera.benchmarks.report.Environment;
import io.tessera.benchmarks.report.JsonReport;
import io.tessera.benchmarks.report.Plots;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.ResultRow;
import io.tessera.benchmarks.report.Samples;
import io.tessera.core.Torch;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code tessera bench step}: Tessera's single-process training step against PyTorch eager on the same
 * model, batch, thread count and machine, in one run.
 *
 * <pre>
 *   1. ceiling   fp32 GEMM rate of libtorch, OpenBLAS and PyTorch on 2048×768·768×3072 (MatmulCeiling)
 *   2. rounds    --rounds times, alternating (so that load from other processes falls on both):
 *                tessera  TesseraTrainStep: warm-up once, then --steps timed steps
 *                pytorch  bert_step.py in a subprocess, same config, threads, warm-up and step count
 *   3. report    median step time of each system over all rounds; tokens/s, TFLOP/s (TransformerFlops),
 *                MFU = TFLOP/s ÷ ceiling, Tessera ÷ PyTorch
 * </pre>
 *
 * <p>Issue 7's goals printed at the end: Tessera ÷ PyTorch tokens/s ≥ 1.0, Tessera MFU ≥ 50%.
 *
 * <p>Thread safety: a process entry point; sets process-wide thread counts.
 */
public final class StepBenchmark {

    private StepBenchmark() {}

    /**
     * @param args see {@link StepOptions#usage()}
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * Parses, runs, prints and writes the report.
     *
     * @param args command-line arguments
     * @param out console
     * @return 0 on success, 2 for bad options
     */
    public static int run(String[] args, PrintStream out) {
        if (List.of(args).contains("--help")) {
            out.print(StepOptions.usage());
            return 0;
        }
        StepOptions o;
        try {
            o = StepOptions.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.print(StepOptions.usage());
            return 2;
        }
        Report r = run(o, out);
        out.println();
        out.print(ConsoleTable.render(r));
        goals(r).forEach(out::println);
        write(r, o.json(), o.csv(), o.plots(), "step", out);
        return 0;
    }

    /**
     * Runs the three measurements.
     *
     * @param o options
     * @param out progress lines
     * @return the report: ceiling, one Tessera row, one PyTorch row (unless skipped), notes
     */
    public static Report run(StepOptions o, PrintStream out) {
        StepSpec spec = o.spec();
        Torch.setThreads(o.threads());
        OpenBlas.setThreads(o.threads());
        Map<String, String> env = Environment.describe();
        List<String> notes = new ArrayList<>();
        out.printf(Locale.ROOT, "step benchmark: %s, batch %d x seq %d, %d threads, %d warm-up + %d timed steps%n",
                spec.label(), o.batch(), o.seq(), o.threads(), o.warmup(), o.steps());

        PyTorchReference ref = null;
        if (o.reference()) {
            Optional<String> why = BertReference.unsupported(spec.config());
            PyTorchReference candidate = new PyTorchReference(o.python(), o.referenceDir(), o.referenceTimeout());
            PyTorchReference.Availability a = candidate.probe();
            if (why.isPresent()) {
                notes.add("PyTorch reference skipped: " + why.get());
            } else if (!a.available()) {
                notes.add("PyTorch reference skipped: " + a.reason());
            } else {
                env.put("pytorch", a.version());
                ref = candidate;
            }
        }
        Ceiling ceiling = measureCeiling(o.threads(), o.ceilingReps(), ref, out);

        out.println("tessera: building " + spec.label() + " ...");
        List<Double> tesseraTimes = new ArrayList<>();
        List<Double> pytorchTimes = new ArrayList<>();
        String detail;
        String pytorchDetail = null;
        if (o.gemm() != null) {
            Gemms.use(o.gemm());
        }
        try (TesseraTrainStep step = TesseraTrainStep.create(spec, ParallelContext.single())) {
            for (int i = 0; i < o.warmup(); i++) {
                step.run();
            }
            step.profile().reset();
            for (int round = 1; round <= o.rounds(); round++) {
                Samples t = Samples.time(0, o.steps(), step::run);
                tesseraTimes.addAll(t.seconds());
                out.printf(Locale.ROOT, "round %d/%d tessera: median %.4f s/step (mean %.4f, min %.4f)%n", round,
                        o.rounds(), t.median(), t.mean(), t.min());
                if (ref != null) {
                    BertReference.Result p = BertReference.step(ref, spec, o.steps(), o.warmup(), o.threads());
                    pytorchTimes.addAll(p.samples().seconds());
                    pytorchDetail = BertReference.describe(p.json());
                    out.printf(Locale.ROOT, "round %d/%d pytorch: median %.4f s/step (mean %.4f, min %.4f)%n", round,
                            o.rounds(), p.samples().median(), p.samples().mean(), p.samples().min());
                }
            }
            detail = step.describe() + String.format(Locale.ROOT, ", last loss %.3f", step.lastLoss());
            if (o.profile()) {
                out.println();
                out.printf(Locale.ROOT, "tessera step profile over %d timed steps (wall seconds by node kind):%n", o.rounds() * o.steps());
                out.print(step.profile().table(30));
                if (Gemms.current() instanceof MeasuredGemm mg) {
                    out.println("gemm decisions (shape -> backend, GFLOP/s measured on first use):");
                    mg.decisions().values().forEach(d -> out.println("  " + d));
                }
            }
            if (step.skippedUpdates() > 0) {
                notes.add("Tessera skipped " + step.skippedUpdates() + " optimizer updates on a non-finite gradient norm;"
                        + " skipped updates make steps cheaper, so the timing is optimistic");
            }
        }
        List<ResultRow> rows = new ArrayList<>();
        rows.add(ResultRow.measured(ResultRow.TESSERA, "step", spec.label(), spec.shape(), 1, 1, o.threads(),
                new Samples(tesseraTimes).median(), ceiling, detail));
        if (ref != null) {
            rows.add(ResultRow.measured(ResultRow.PYTORCH, "step", spec.label(), spec.shape(), 1, 1, o.threads(),
                    new Samples(pytorchTimes).median(), ceiling, pytorchDetail));
            notes.add("the PyTorch reference computes logits over Tessera's padded vocabulary ("
                    + spec.config().paddedVocabSize(1) + "); FLOPs count the real one (" + spec.config().vocabSize() + ")");
        }
        if (o.rounds() > 1) {
            notes.add("step times are medians over " + o.rounds() + " alternating rounds of " + o.steps()
                    + " steps per system (load from other processes falls on both)");
        }
        ResultRow.implausibleMfu(rows).ifPresent(notes::add);
        if (!spec.optimizer().equals("adamw")) {
            notes.add("Tessera ran " + spec.optimizer() + " while the PyTorch reference runs AdamW");
        }
        return new Report("step", env, ceiling, rows, notes);
    }

    /**
     * The fp32 ceiling on the BERT-shaped product: libtorch and OpenBLAS in this process (interleaved),
     * plus PyTorch's when a reference is available.
     *
     * @param threads threads of every backend
     * @param reps timed runs per backend
     * @param ref the reference runner, or null
     * @param out progress lines
     * @return the ceiling
     */
    public static Ceiling measureCeiling(int threads, int reps, PyTorchReference ref, PrintStream out) {
        out.println("ceiling: fp32 " + MatmulShape.BERT_MLP + ", " + reps + " runs per backend");
        List<MatmulMeasurement> m = new ArrayList<>(
                new MatmulCeiling(List.of(MatmulShape.BERT_MLP), 2, reps, threads, true, false, out).measure());
        if (ref != null) {
            m.addAll(CeilingBenchmark.referenceMeasurements(ref, List.of(MatmulShape.BERT_MLP), List.of("fp32"), 2, reps,
                    threads, out));
        }
        return new Ceiling(m, threads);
    }

    /**
     * Issue 7's single-process goals, evaluated on the report's rows.
     *
     * @param r a step report
     * @return one line per goal that the rows allow to evaluate
     */
    public static List<String> goals(Report r) {
        List<String> lines = new ArrayList<>();
        for (Comparison c : r.comparisons()) {
            lines.add(String.format(Locale.ROOT, "goal tessera/pytorch tokens/s >= 1.0: %.3f (%s)", c.throughputRatio(),
                    c.throughputRatio() >= 1.0 ? "met" : "not met"));
        }
        for (ResultRow row : r.rows()) {
            if (row.system().equals(ResultRow.TESSERA) && !Double.isNaN(row.mfu())) {
                lines.add(String.format(Locale.ROOT, "goal tessera MFU >= 50%% of the measured ceiling: %.1f%% (%s)",
                        100 * row.mfu(), row.mfu() >= 0.5 ? "met" : "not met"));
            }
        }
        return lines;
    }

    /**
     * Writes the JSON report, the rows' CSV and the plots where asked.
     *
     * @param r the report
     * @param json JSON file, or null
     * @param csv CSV file, or null
     * @param plots directory of PNGs, or null
     * @param prefix file name prefix of the plots
     * @param out where "wrote ..." lines go
     */
    public static void write(Report r, Path json, Path csv, Path plots, String prefix, PrintStream out) {
        try {
            if (json != null) {
                JsonReport.write(json, r);
                out.println("wrote " + json);
            }
            if (csv != null) {
                CsvReport.write(csv, CsvReport.rows(r.rows()));
                out.println("wrote " + csv);
            }
            if (plots != null && !r.rows().isEmpty()) {
                for (Path p : Plots.write(r.rows(), plots, prefix)) {
                    out.println("wrote " + p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the " + r.benchmark() + " report: " + e.getMessage(), e);
        }
    }
}
