package io.tessera.benchmarks.step;

import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.CeilingBenchmark;
import io.tessera.benchmarks.ceiling.MatmulCeiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import io.tessera.benchmarks.ceiling.MatmulShape;
import io.tessera.core.gemm.Gemm;
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
import ai.djl.Device;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.optim.amp.Precision;
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
 *   1. ceiling   fp32 GEMM rate of libtorch, OpenBLAS and PyTorch on 2048×768·768×3072 (MatmulCeiling),
 *                and libtorch's fp16 rate with --precision fp16;
 *                with --device cuda: libtorch fp32/fp16 and PyTorch fp32/fp16/bf16 on that GPU, also 8192³
 *   2. rounds    --rounds times, alternating (so that load from other processes falls on both):
 *                tessera  TesseraTrainStep: warm-up once, then --steps timed steps
 *                pytorch  bert_step.py in a subprocess, same config, threads, warm-up and step count
 *   3. report    median step time of each system over all rounds; on the CPU, the share of Tessera's
 *                timed steps spent in linear-layer GEMMs ({@link TimedGemm}) and in the rest;
 *                tokens/s, TFLOP/s (TransformerFlops),
 *                MFU = TFLOP/s ÷ ceiling of the step's precision, Tessera ÷ PyTorch; on a GPU also MFU
 *                against the bf16 ceiling, and the device memory in use; rows carry the device
 *                ({@code cpu} or {@code cuda:N}) and the precision, the environment the GPU's name
 *                (from torch.cuda.get_device_name, when the reference ran)
 * </pre>
 *
 * <p>On a GPU ({@code --device cuda}) every timed step of both systems ends with a device
 * synchronisation, so that it includes all of its kernels; {@code --threads} then only sizes the CPU
 * side. {@code --precision fp16} runs Tessera's mixed precision and PyTorch's autocast with a GradScaler
 * (the reference needs a GPU for fp16: PyTorch's CPU autocast is bf16 only).
 *
 * <p>The project's goals, printed at the end: Tessera ÷ PyTorch tokens/s ≥ 1.2, Tessera MFU ≥ 55%, each
 * judged on its median over the runs with {@code --repeats 3} ({@link Repeats}).
 *
 * <p>Thread safety: a process entry point; sets process-wide thread counts.
 */
public final class StepBenchmark {

    /** The square product of the GPU ceiling: large enough to keep every streaming multiprocessor busy. */
    public static final MatmulShape GPU_SQUARE = new MatmulShape(8192, 8192, 8192);

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
        try {
            o.device().resolve(0, 1); // a GPU that is not there fails here, before anything is measured
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            return 2;
        }
        List<Report> runs = new ArrayList<>();
        for (int i = 1; i <= o.repeats(); i++) {
            if (o.repeats() > 1) {
                out.printf(Locale.ROOT, "%nrepeat %d/%d%n", i, o.repeats());
            }
            Report r = run(o, out); // a failure while measuring is a bug, not a usage error: its stack trace is kept
            out.println();
            out.print(ConsoleTable.render(r));
            runs.add(r);
        }
        Repeats repeats = new Repeats(runs);
        Report r = repeats.medianRun();
        if (o.repeats() > 1) {
            out.println();
            out.println("over " + o.repeats() + " complete runs (the report written is the median-MFU run's):");
            repeats.lines().forEach(l -> out.println("  " + l));
        }
        goals(repeats).forEach(out::println);
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
        Device device = o.device().resolve(0, 1);
        String deviceName = device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu";
        Torch.setThreads(o.threads());
        if (!device.isGpu()) {
            OpenBlas.setThreads(o.threads());
        }
        Map<String, String> env = Environment.describe();
        env.put("device", deviceName);
        List<String> notes = new ArrayList<>();
        out.printf(Locale.ROOT, "step benchmark: %s, batch %d x seq %d, %s on %s, %s, %d warm-up + %d timed steps%n",
                spec.label(), o.batch(), o.seq(), spec.precision().flag(), deviceName,
                device.isGpu() ? "synchronised per step" : o.threads() + " threads", o.warmup(), o.steps());

        PyTorchReference ref = null;
        if (o.reference()) {
            Optional<String> why = BertReference.unsupported(spec, deviceName);
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
        Ceiling ceiling = device.isGpu() ? measureGpuCeiling(device, o.ceilingReps(), ref, out)
                : measureCeiling(o.threads(), o.ceilingReps(), ref, spec.precision() == Precision.FP16, out);
        if (spec.precision() == Precision.FP16 && ceiling.best("fp16").isEmpty()) {
            notes.add("no fp16 product was measured, so the fp16 step has no MFU");
        }

        out.println("tessera: building " + spec.label() + " ...");
        List<Double> tesseraTimes = new ArrayList<>();
        List<Double> pytorchTimes = new ArrayList<>();
        String detail;
        String pytorchDetail = null;
        Gemm gemm = o.gemm() != null ? o.gemm().create() : Gemms.current();
        TimedGemm timed = device.isGpu() ? null : new TimedGemm(gemm); // GEMM strategies run on CPU tensors only
        try (TesseraTrainStep step = TesseraTrainStep.create(spec, ParallelContext.single(), device,
                timed != null ? timed : gemm)) {
            for (int i = 0; i < o.warmup(); i++) {
                step.run();
            }
            step.profile().reset();
            if (timed != null) {
                timed.reset();
            }
            for (int round = 1; round <= o.rounds(); round++) {
                Samples t = Samples.time(0, o.steps(), step::run);
                tesseraTimes.addAll(t.seconds());
                out.printf(Locale.ROOT, "round %d/%d tessera: median %.4f s/step (mean %.4f, min %.4f)%n", round,
                        o.rounds(), t.median(), t.mean(), t.min());
                if (ref != null) {
                    BertReference.Result p = BertReference.step(ref, spec, o.steps(), o.warmup(), o.threads(), deviceName);
                    pytorchTimes.addAll(p.samples().seconds());
                    pytorchDetail = BertReference.describe(p.json());
                    if (p.json().has("gpu") && !p.json().get("gpu").isJsonNull()) {
                        env.put("gpu", p.json().get("gpu").getAsString()); // torch.cuda.get_device_name
                    }
                    out.printf(Locale.ROOT, "round %d/%d pytorch: median %.4f s/step (mean %.4f, min %.4f)%n", round,
                            o.rounds(), p.samples().median(), p.samples().mean(), p.samples().min());
                }
            }
            detail = step.describe() + String.format(Locale.ROOT, ", last loss %.3f", step.lastLoss());
            if (timed != null && timed.calls() > 0) {
                double total = tesseraTimes.stream().mapToDouble(Double::doubleValue).sum();
                String line = String.format(Locale.ROOT, "tessera step breakdown over %d timed steps: linear-layer GEMMs"
                        + " %.3f s (%.1f%%, %d products at %.1f GFLOP/s, %.1f%% of the ceiling), the rest %.3f s (%.1f%%:"
                        + " attention score products, softmax, LayerNorm, GELU, dropout, cross-entropy, optimizer, copies)",
                        tesseraTimes.size(), timed.seconds(), 100 * timed.seconds() / total, timed.calls(),
                        timed.flops() / timed.seconds() / 1e9, 100 * timed.flops() / timed.seconds() / 1e9 / ceiling.gflops(),
                        total - timed.seconds(), 100 * (total - timed.seconds()) / total);
                out.println(line);
                notes.add(line);
            }
            if (o.profile()) {
                out.println();
                out.printf(Locale.ROOT, "tessera step profile over %d timed steps (wall seconds by node kind):%n", o.rounds() * o.steps());
                out.print(step.profile().table(30));
                if (gemm instanceof MeasuredGemm mg) { // the wrapped strategy: TimedGemm only counts
                    out.println("gemm decisions (shape -> backend, GFLOP/s measured on first use):");
                    mg.decisions().values().forEach(d -> out.println("  " + d));
                }
            }
            if (step.skippedUpdates() > 0) {
                notes.add("Tessera skipped " + step.skippedUpdates() + " optimizer updates on a non-finite gradient norm"
                        + (spec.precision() == Precision.FP16 ? " (fp16 overflow: the loss scale halved each time)" : "") + ";"
                        + " skipped updates make steps cheaper, so the timing is optimistic");
            }
        }
        List<ResultRow> rows = new ArrayList<>();
        String precision = spec.precision().flag();
        rows.add(ResultRow.measured(ResultRow.TESSERA, "step", spec.label(), spec.shape(), 1, 1, o.threads(),
                new Samples(tesseraTimes).median(), ceiling, detail, deviceName, precision));
        if (ref != null) {
            rows.add(ResultRow.measured(ResultRow.PYTORCH, "step", spec.label(), spec.shape(), 1, 1, o.threads(),
                    new Samples(pytorchTimes).median(), ceiling, pytorchDetail, deviceName, precision));
            notes.add("the PyTorch reference computes logits over Tessera's padded vocabulary ("
                    + spec.config().paddedVocabSize(1) + "); FLOPs count the real one (" + spec.config().vocabSize() + ")");
        }
        if (o.rounds() > 1) {
            notes.add("step times are medians over " + o.rounds() + " alternating rounds of " + o.steps()
                    + " steps per system (load from other processes falls on both)");
        }
        ResultRow.implausibleMfu(rows).ifPresent(notes::add);
        if (device.isGpu()) {
            ceiling.best("bf16").ifPresent(b -> {
                for (ResultRow row : rows) {
                    notes.add(String.format(Locale.ROOT, "%s MFU against the bf16 ceiling (%.1f TFLOP/s, %s): %.1f%%",
                            row.system(), b.bestGflops() / 1000, b.backend(), 100 * ceiling.mfu(row.tflops(), "bf16")));
                }
            });
            Devices.memory(device).ifPresent(m -> notes.add(String.format(Locale.ROOT,
                    "device memory in use after Tessera's run: %.0f of %.0f MiB (driver's count, libtorch's cache included)",
                    m.usedMegabytes(), m.total() / 1048576.0)));
        }
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
        return measureCeiling(threads, reps, ref, false, out);
    }

    /**
     * {@link #measureCeiling(int, int, PyTorchReference, PrintStream)}, with libtorch's fp16 product too
     * when the step computes in fp16.
     *
     * @param threads threads of every backend
     * @param reps timed runs per backend
     * @param ref the reference runner, or null
     * @param fp16 whether to time libtorch's fp16 product
     * @param out progress lines
     * @return the ceiling
     */
    public static Ceiling measureCeiling(int threads, int reps, PyTorchReference ref, boolean fp16, PrintStream out) {
        out.println("ceiling: fp32" + (fp16 ? " and fp16 " : " ") + MatmulShape.BERT_MLP + ", " + reps + " runs per backend");
        List<MatmulMeasurement> m = new ArrayList<>(
                new MatmulCeiling(List.of(MatmulShape.BERT_MLP), 2, reps, threads, true, fp16, out).measure());
        if (ref != null) {
            m.addAll(CeilingBenchmark.referenceMeasurements(ref, List.of(MatmulShape.BERT_MLP), List.of("fp32"), 2, reps,
                    threads, out));
        }
        return new Ceiling(m, threads);
    }

    /**
     * The ceiling on a CUDA device: libtorch's fp32 and fp16 products in this process and PyTorch's fp32,
     * fp16 and bf16 ones (when a reference is available), on the BERT-shaped product and a square
     * 8192³ one, which comes closer to the device's peak. bf16 is measured by PyTorch only (DJL 0.35.1 has
     * no bf16 tensors).
     *
     * @param device the GPU
     * @param reps timed samples per backend (each {@link MatmulCeiling#GPU_BATCH} products)
     * @param ref the reference runner, or null
     * @param out progress lines
     * @return the ceiling
     */
    public static Ceiling measureGpuCeiling(Device device, int reps, PyTorchReference ref, PrintStream out) {
        List<MatmulShape> shapes = List.of(MatmulShape.BERT_MLP, GPU_SQUARE);
        out.println("ceiling on " + device + ": fp32 and fp16 " + shapes + ", " + reps + " samples of "
                + MatmulCeiling.GPU_BATCH + " products per backend");
        List<MatmulMeasurement> m = new ArrayList<>(
                new MatmulCeiling(shapes, 3, reps, 1, false, true, device, out).measure());
        if (ref != null) {
            m.addAll(CeilingBenchmark.referenceMeasurements(ref, shapes, List.of("fp32", "fp16", "bf16"), 3, reps, 1,
                    "cuda:" + device.getDeviceId(), out));
        }
        return new Ceiling(m, 1);
    }


    /**
     * The project's single-process goals, evaluated on the report's rows.
     *
     * @param r a step report
     * @return one line per goal that the rows allow to evaluate
     */
    public static List<String> goals(Report r) {
        return goals(new Repeats(List.of(r)));
    }

    /**
     * The project's single-process goals, each judged on its own median over the runs.
     *
     * @param runs one or more complete runs
     * @return one line per goal that the rows allow to evaluate
     */
    public static List<String> goals(Repeats runs) {
        List<String> lines = new ArrayList<>();
        int n = runs.reports().size();
        String over = n > 1 ? " (median of " + n + " runs)" : "";
        double ratio = runs.throughputRatio().median();
        if (!Double.isNaN(ratio)) {
            lines.add(String.format(Locale.ROOT, "goal tessera/pytorch tokens/s >= 1.2: %.3f%s (%s)", ratio, over,
                    ratio >= 1.2 ? "met" : "not met"));
        }
        double mfu = runs.tesseraMfu().median();
        if (!Double.isNaN(mfu)) {
            lines.add(String.format(Locale.ROOT, "goal tessera MFU >= 55%% of the measured ceiling: %.1f%%%s (%s)",
                    100 * mfu, over, mfu >= 0.55 ? "met" : "not met"));
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
