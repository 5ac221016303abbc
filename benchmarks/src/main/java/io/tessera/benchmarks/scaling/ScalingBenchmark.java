package io.tessera.benchmarks.scaling;

import ai.djl.Device;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.report.Comparison;
import io.tessera.benchmarks.report.ConsoleTable;
import io.tessera.benchmarks.report.Environment;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.ResultRow;
import io.tessera.benchmarks.report.Samples;
import io.tessera.benchmarks.step.BertReference;
import io.tessera.benchmarks.step.StepBenchmark;
import io.tessera.benchmarks.step.StepSpec;
import io.tessera.core.Devices;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code tessera bench scaling}: Tessera's weak and strong scaling over data- and tensor-parallel degrees
 * beside PyTorch DDP + Gloo, on this machine, in one run.
 *
 * <pre>
 *   ceiling      fp32 GEMM rate with all --cores threads (for MFU of the whole machine)
 *   per mode (weak: --batch per data-parallel rank; strong: --batch global) and per point (dp, tp),
 *   world = dp·tp ≤ cores (unless --oversubscribe):
 *     tessera    world processes of ScalingRank via the RankLauncher, cores/world threads each;
 *                step time = slowest rank's, median over --steps
 *     pytorch    ddp_scaling.py --worlds (the tp = 1 points) with the same threads per rank
 *   no reduction (each point with tp = 1, dp ≥ 2, unless --no-exposed), in the same job as the real steps,
 *   alternating with them step by step (the order swapping pair by pair):
 *     tessera    ScalingRank --interleave: a second model whose data-parallel group is a NoOpCommunicator
 *     pytorch    ddp_scaling.py --interleave: every other step inside DDP's no_sync()
 *   throughput efficiency   throughput(N) / (N · throughput(1)) per system (ScalingEfficiency); on a CPU
 *                           it includes thread scaling (N ranks of cores/N threads vs one rank of all cores)
 *   exposed comm            1 − step(no reduction) / step(reduction) per system (ExposedCommunication),
 *                           both medians, reported as measured (a negative value is noise, not clamped)
 * </pre>
 *
 * <p>The goals, printed at the end: Tessera's exposed-communication fraction is at most
 * {@value #EXPOSED_GOAL} at every weak-scaling data-parallel point and below PyTorch DDP's in the same
 * run; and, as before, Tessera's throughput efficiency at 2 data-parallel processes is at least DDP's.
 *
 * <p>Thread safety: a process entry point.
 */
public final class ScalingBenchmark {

    /** The largest exposed-communication fraction the goal allows Tessera. */
    public static final double EXPOSED_GOAL = 0.05;

    private ScalingBenchmark() {}

    /**
     * @param args see {@link ScalingOptions#usage()}
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * Parses, runs with the {@link LocalRankLauncher}, prints and writes the report.
     *
     * @param args command-line arguments
     * @param out console
     * @return 0 on success, 2 for bad options
     */
    public static int run(String[] args, PrintStream out) {
        if (List.of(args).contains("--help")) {
            out.print(ScalingOptions.usage());
            return 0;
        }
        ScalingOptions o;
        try {
            o = ScalingOptions.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.print(ScalingOptions.usage());
            return 2;
        }
        RankLauncher launcher = new LocalRankLauncher(out, line -> !line.contains(ScalingRank.RESULT_MARKER),
                Duration.ofSeconds(10));
        try {
            o.device().resolve(0, 1); // --device cuda without a usable GPU fails here, before any rank starts
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            return 2;
        }
        Report r = run(o, launcher, out); // a failure while measuring is a bug, not a usage error: its stack trace is kept
        out.println();
        out.print(ConsoleTable.render(r));
        goals(r).forEach(out::println);
        StepBenchmark.write(r, o.json(), o.csv(), o.plots(), "scaling", out);
        return 0;
    }

    /**
     * A point of the sweep.
     *
     * <p>Thread safety: immutable.
     *
     * @param mode weak or strong
     * @param dp data-parallel degree
     * @param tp tensor-parallel degree
     */
    public record Point(String mode, int dp, int tp) {
        /** @return processes, {@code dp · tp} */
        public int world() {
            return dp * tp;
        }
    }

    /**
     * The points the options ask for, in run order, and notes on those left out.
     *
     * @param o options
     * @param notes receives one line per point left out, with the reason
     * @return the points: per mode, the single-process point first
     */
    public static List<Point> points(ScalingOptions o, List<String> notes) {
        return points(o, notes, 0);
    }

    /**
     * The points of a run on {@code gpus} GPUs (0: the CPU): on GPUs a point needs one GPU per process,
     * and the core count does not limit it.
     *
     * @param o options
     * @param notes receives one line per point left out, with the reason
     * @param gpus usable GPUs of this host, 0 for a CPU run
     * @return the points: per mode, the single-process point first
     */
    public static List<Point> points(ScalingOptions o, List<String> notes, int gpus) {
        List<Point> out = new ArrayList<>();
        for (String mode : o.modes()) {
            List<Point> m = new ArrayList<>();
            m.add(new Point(mode, 1, 1));
            for (int tp : o.tensorParallel()) {
                for (int dp : o.dataParallel()) {
                    Point p = new Point(mode, dp, tp);
                    if (p.world() == 1 || m.contains(p)) {
                        continue;
                    }
                    if (gpus > 0 && p.world() > gpus) {
                        notes.add(String.format(Locale.ROOT, "%s dp=%d tp=%d skipped: %d processes need %d GPUs, this host"
                                + " has %d (one rank per GPU)", mode, dp, tp, p.world(), p.world(), gpus));
                        continue;
                    }
                    if (gpus == 0 && p.world() > o.cores() && !o.oversubscribe()) {
                        notes.add(String.format(Locale.ROOT, "%s dp=%d tp=%d skipped: %d processes do not fit %d cores"
                                + " (--oversubscribe runs it anyway)", mode, dp, tp, p.world(), o.cores()));
                        continue;
                    }
                    if (mode.equals("strong") && o.batch() % dp != 0) {
                        notes.add(String.format(Locale.ROOT, "strong dp=%d tp=%d skipped: global batch %d is not divisible"
                                + " by dp=%d", dp, tp, o.batch(), dp));
                        continue;
                    }
                    try {
                        o.config().validateFor(tp);
                    } catch (IllegalArgumentException e) {
                        notes.add(mode + " dp=" + dp + " tp=" + tp + " skipped: " + e.getMessage().replace('\n', ' '));
                        continue;
                    }
                    m.add(p);
                }
            }
            out.addAll(m);
        }
        return out;
    }

    /**
     * Runs every point of both systems.
     *
     * @param o options
     * @param launcher starts the Tessera ranks
     * @param out progress lines
     * @return the report: ceiling, rows with efficiencies, notes
     */
    public static Report run(ScalingOptions o, RankLauncher launcher, PrintStream out) {
        Map<String, String> env = Environment.describe();
        List<String> notes = new ArrayList<>();
        Device first = o.device().resolve(0, 1);
        int gpus = first.isGpu() ? Devices.usableGpus() : 0;
        env.put("device", first.isGpu() ? "cuda (" + gpus + " GPU" + (gpus == 1 ? "" : "s") + ")" : "cpu");
        List<Point> points = points(o, notes, gpus);
        PyTorchReference ref = null;
        if (o.reference()) {
            Optional<String> why = BertReference.unsupported(o.config());
            PyTorchReference candidate = new PyTorchReference(o.python(), o.referenceDir(), o.timeout());
            PyTorchReference.Availability a = candidate.probe();
            if (why.isPresent()) {
                notes.add("PyTorch DDP reference skipped: " + why.get());
            } else if (!a.available()) {
                notes.add("PyTorch DDP reference skipped: " + a.reason());
            } else {
                env.put("pytorch", a.version());
                ref = candidate;
            }
        }
        out.printf(Locale.ROOT, "scaling benchmark: %s, seq %d, batch %d (%s), %d cores, points %s%n", o.label(), o.seq(),
                o.batch(), String.join("/", o.modes()), o.cores(), points);
        Ceiling ceiling = first.isGpu() ? StepBenchmark.measureGpuCeiling(first, o.ceilingReps(), ref, out)
                : StepBenchmark.measureCeiling(o.cores(), o.ceilingReps(), ref, out);
        List<ResultRow> rows = new ArrayList<>();
        List<ResultRow> noReduction = new ArrayList<>();
        for (Point p : points) {
            List<ResultRow> r = tessera(o, p, exposedPoint(o, p), ceiling, launcher, first.isGpu(), out);
            rows.add(r.get(0));
            if (r.size() > 1) {
                noReduction.add(r.get(1));
            }
        }
        if (ref != null) {
            for (String mode : o.modes()) {
                List<Integer> worlds = new ArrayList<>();
                List<Integer> exposed = new ArrayList<>();
                for (Point p : points) {
                    if (p.mode().equals(mode) && p.tp() == 1) {
                        worlds.add(p.dp());
                        if (exposedPoint(o, p)) {
                            exposed.add(p.dp());
                        }
                    }
                }
                List<Integer> plain = new ArrayList<>(worlds);
                plain.removeAll(exposed);
                rows.addAll(DdpScalingReference.run(o, mode, plain, false, ceiling, ref, first.isGpu(), out).get(0));
                List<List<ResultRow>> both = DdpScalingReference.run(o, mode, exposed, true, ceiling, ref, first.isGpu(), out);
                rows.addAll(both.get(0));
                noReduction.addAll(both.get(1));
            }
        }
        if (!noReduction.isEmpty()) {
            notes.add("exposed comm = 1 - step s no-reduce / step s, medians of the same ranks and threads without the"
                    + " data-parallel gradient reduction (Tessera: a no-op data group; DDP: no_sync()), timed in the same"
                    + " job in alternation with the real steps; shown as measured, a negative value means the"
                    + " no-reduction steps were slower (noise)");
        }
        if (points.stream().anyMatch(p -> p.world() > o.cores())) {
            notes.add("some points ran more processes than cores (--oversubscribe): their efficiency measures contention");
        }
        ResultRow.implausibleMfu(rows).ifPresent(notes::add);
        return new Report("scaling", env, ceiling,
                ExposedCommunication.attach(ScalingEfficiency.apply(rows), noReduction), notes);
    }

    /**
     * @param o options
     * @param p a point
     * @return whether the point also runs without the data-parallel reduction: tp = 1, dp ≥ 2, and
     *     {@link ScalingOptions#exposed()}
     */
    static boolean exposedPoint(ScalingOptions o, Point p) {
        return o.exposed() && p.tp() == 1 && p.dp() >= 2;
    }

    /**
     * Runs one Tessera point.
     *
     * @param interleave whether the ranks also time steps without the reduction, in alternation
     *     ({@link ScalingRank} {@code --interleave})
     * @return the row with the reduction, then (when interleaved) the row without it
     */
    private static List<ResultRow> tessera(ScalingOptions o, Point p, boolean interleave, Ceiling ceiling, RankLauncher launcher,
                                           boolean gpu, PrintStream out) {
        int threads = Math.max(1, o.cores() / p.world());
        StepSpec spec = o.spec(p.mode(), p.dp());
        ScalingRank.Options rank = new ScalingRank.Options(spec, p.tp(), threads, o.steps(), o.warmup(), o.timeout(),
                Devices.parse(gpu ? "cuda" : "cpu"));
        if (interleave) {
            rank = rank.interleaved();
        }
        List<String> cmd = launcher.rankCommand(ScalingRank.class.getName(),
                List.of("-Xms256m", "-Xmx" + o.rankHeap(), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"), rank.toArgs());
        out.printf(Locale.ROOT, "tessera %s dp=%d tp=%d%s: %d processes x %s, batch %d per data-parallel rank%n",
                p.mode(), p.dp(), p.tp(), interleave ? " (steps with and without the gradient reduction, alternating)" : "",
                p.world(), gpu ? "1 GPU (NCCL)" : threads + " threads", spec.batch());
        List<String> lines;
        try {
            lines = launcher.launch(p.world(), cmd, Map.of("OMP_NUM_THREADS", Integer.toString(threads)));
        } catch (IOException e) {
            throw new IllegalStateException("could not start the ranks of " + p + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + p, e);
        }
        List<JsonObject> results = new ArrayList<>();
        for (String line : lines) {
            int i = line.indexOf(ScalingRank.RESULT_MARKER);
            if (i >= 0) {
                results.add(JsonParser.parseString(line.substring(i + ScalingRank.RESULT_MARKER.length())).getAsJsonObject());
            }
        }
        if (results.size() != p.world()) {
            throw new IllegalStateException(p + ": expected a result line from each of " + p.world() + " ranks, got "
                    + results.size() + "; see the rank output above");
        }
        String detail = results.get(0).get("detail").getAsString();
        List<ResultRow> rows = new ArrayList<>();
        Samples slowest = slowestPerStep(results, "step_s");
        out.printf(Locale.ROOT, "  median %.4f s/step (slowest rank per step)%n", slowest.median());
        rows.add(ResultRow.measured(ResultRow.TESSERA, p.mode(), o.label(), spec.shape(), p.tp(), p.dp(), threads,
                slowest.median(), ceiling, detail, gpu ? "cuda" : "cpu", "fp32"));
        if (interleave) {
            Samples baseline = slowestPerStep(results, ScalingRank.NO_REDUCE_KEY);
            out.printf(Locale.ROOT, "  median %.4f s/step without the reduction (slowest rank per step)%n", baseline.median());
            for (JsonObject r : results) {
                out.printf(Locale.ROOT, "    rank %s: median %.4f with, %.4f without%n", r.get("rank"),
                        slowestPerStep(List.of(r), "step_s").median(), slowestPerStep(List.of(r), ScalingRank.NO_REDUCE_KEY).median());
            }
            rows.add(ResultRow.measured(ResultRow.TESSERA, p.mode(), o.label(), spec.shape(), p.tp(), p.dp(), threads,
                    baseline.median(), ceiling, detail + ", no-op gradient reduction", gpu ? "cuda" : "cpu", "fp32"));
        }
        return rows;
    }

    /**
     * The per-step maximum over ranks.
     *
     * @param ranks each rank's result line
     * @param key the step times to take, {@code step_s} or {@link ScalingRank#NO_REDUCE_KEY}
     * @return one duration per step: the slowest rank's
     */
    static Samples slowestPerStep(List<JsonObject> ranks, String key) {
        List<Double> max = new ArrayList<>();
        for (JsonObject r : ranks) {
            if (!r.has(key)) {
                throw new IllegalStateException("rank " + r.get("rank") + "'s result line has no '" + key + "': " + r);
            }
            int i = 0;
            for (JsonElement e : r.getAsJsonArray(key)) {
                if (max.size() <= i) {
                    max.add(e.getAsDouble());
                } else {
                    max.set(i, Math.max(max.get(i), e.getAsDouble()));
                }
                i++;
            }
        }
        return new Samples(max);
    }

    /**
     * The scaling goals, evaluated on the report's rows.
     *
     * @param r a scaling report
     * @return per weak-scaling data-parallel point with both exposed fractions, the exposed-communication
     *     goal; per such pair at 2 processes, the throughput-efficiency goal
     */
    public static List<String> goals(Report r) {
        List<String> lines = new ArrayList<>();
        for (Comparison c : r.comparisons()) {
            ResultRow t = c.tessera();
            ResultRow p = c.pytorch();
            if (t.benchmark().equals("weak") && t.tp() == 1 && t.dp() >= 2 && !Double.isNaN(t.exposedComm())
                    && !Double.isNaN(p.exposedComm())) {
                lines.add(String.format(Locale.ROOT, "goal exposed comm at DP=%d <= %.2f and below PyTorch DDP's:"
                        + " tessera %s vs pytorch %s (%s)", t.dp(), EXPOSED_GOAL, ExposedCommunication.format(t.exposedComm()),
                        ExposedCommunication.format(p.exposedComm()), exposedGoalMet(t.exposedComm(), p.exposedComm())
                                ? "met" : "not met"));
            }
        }
        for (Comparison c : r.comparisons()) {
            ResultRow t = c.tessera();
            if (t.benchmark().equals("weak") && t.world() == 2 && t.dp() == 2) {
                lines.add(String.format(Locale.ROOT, "goal DP weak-scaling throughput efficiency (includes thread scaling)"
                        + " at 2 processes >= PyTorch DDP's: tessera %.1f%% vs pytorch %.1f%% (%s)", 100 * t.efficiency(),
                        100 * c.pytorch().efficiency(), t.efficiency() >= c.pytorch().efficiency() ? "met" : "not met"));
            }
        }
        return lines;
    }

    /**
     * @param tessera Tessera's exposed fraction
     * @param pytorch DDP's, from the same run
     * @return whether {@code tessera <= EXPOSED_GOAL} and {@code tessera < pytorch}
     */
    static boolean exposedGoalMet(double tessera, double pytorch) {
        return tessera <= EXPOSED_GOAL && tessera < pytorch;
    }
}
