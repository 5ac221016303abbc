package io.tessera.benchmarks.scaling;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.tessera.benchmarks.report.Flags;
import io.tessera.benchmarks.step.StepSpec;
import io.tessera.benchmarks.step.TesseraTrainStep;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.launch.JobEnvironment;
import io.tessera.parallel.nccl.NcclGroups;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The program each rank of a scaling run executes (spawned by a {@link RankLauncher}): join the job
 * from torchrun's environment (the Netty backend on the CPU, NCCL groups on a GPU:
 * {@link NcclGroups#runOn}), build a {@link TesseraTrainStep} on this rank's parallel context, run the
 * warm-up steps, meet at a barrier, time each step, and print one line
 *
 * <pre>
 *   TESSERA_RANK_RESULT {"rank": r, "world": N, "tp": t, "dp": d, "threads": T, "step_s": [...], "loss": x}
 * </pre>
 *
 * <p>Every step ends with the data-parallel gradient all-reduce (and, under tensor parallelism, holds the
 * per-layer all-reduces), so the ranks' step times agree; the driver takes the slowest rank per step.
 *
 * <p>With {@code --no-reduction} the rank's context gets a {@link NoOpCommunicator} as its data-parallel
 * group (the world and tensor-parallel groups stay real, so the barrier before timing still meets):
 * the same step, ranks and threads without gradient communication, the baseline of
 * {@link ExposedCommunication}. The ranks' models then drift apart; only the times mean anything.
 *
 * <p>With {@code --interleave} the rank holds both steps, each with its own model and optimizer (twice the
 * memory): the real one and the one with the no-op data group. It warms both up and then times them in
 * pairs, the order alternating pair by pair, each step after an untimed world barrier (unsynchronised
 * no-op steps would otherwise overlap another rank's real step and share its cores), and its result line carries {@code step_s} (with the
 * reduction) and {@code step_s_no_reduce}: the baseline is measured in the same processes at the same
 * moment, so load that changes during the run falls on both.
 *
 * <p>Thread safety: a process entry point.
 */
public final class ScalingRank {

    /** Prefix of the result line the driver looks for. */
    public static final String RESULT_MARKER = "TESSERA_RANK_RESULT ";

    /** The result line's key of the step times without the reduction ({@code --interleave}). */
    public static final String NO_REDUCE_KEY = "step_s_no_reduce";

    private ScalingRank() {}

    /**
     * The rank's options, passed on its command line by {@link ScalingBenchmark}.
     *
     * <p>Thread safety: immutable.
     *
     * @param spec model, per-rank batch, optimizer
     * @param tensorParallel tensor-parallel degree
     * @param threads intra-op threads of this process
     * @param steps timed steps
     * @param warmup untimed steps
     * @param timeout bound of joining and of every collective
     * @param device {@code cpu}, or {@code cuda}: this rank on cuda:LOCAL_RANK with NCCL groups
     * @param reduction whether the data-parallel group is real ({@code --reduction}, the default) or a
     *     {@link NoOpCommunicator} ({@code --no-reduction})
     * @param interleave whether the rank times steps with and without the reduction in alternation
     *     ({@code --interleave}; needs {@code reduction})
     */
    public record Options(StepSpec spec, int tensorParallel, int threads, int steps, int warmup, Duration timeout,
                          Devices device, boolean reduction, boolean interleave) {

        private static final Set<String> VALUED = Set.of("model", "layers", "batch", "seq", "steps", "warmup", "tp",
                "threads", "optimizer", "lr", "clip", "seed", "timeout", "device");
        private static final Set<String> BOOLEANS = Set.of("reduction", "interleave");

        /**
         * Options of a rank with the real data-parallel group.
         *
         * @param spec model, per-rank batch, optimizer
         * @param tensorParallel tensor-parallel degree
         * @param threads intra-op threads of this process
         * @param steps timed steps
         * @param warmup untimed steps
         * @param timeout bound of joining and of every collective
         * @param device {@code cpu} or {@code cuda}
         */
        public Options(StepSpec spec, int tensorParallel, int threads, int steps, int warmup, Duration timeout,
                       Devices device) {
            this(spec, tensorParallel, threads, steps, warmup, timeout, device, true, false);
        }

        /**
         * Options of a rank on the CPU.
         *
         * @param spec model, per-rank batch, optimizer
         * @param tensorParallel tensor-parallel degree
         * @param threads intra-op threads of this process
         * @param steps timed steps
         * @param warmup untimed steps
         * @param timeout bound of joining and of every collective
         */
        public Options(StepSpec spec, int tensorParallel, int threads, int steps, int warmup, Duration timeout) {
            this(spec, tensorParallel, threads, steps, warmup, timeout, Devices.parse("cpu"));
        }

        /**
         * @throws IllegalArgumentException naming the option that breaks its rule
         */
        public Options {
            if (tensorParallel < 1 || threads < 1 || steps < 1 || warmup < 0) {
                throw new IllegalArgumentException("rank options: tp = " + tensorParallel + ", threads = " + threads
                        + ", steps = " + steps + ", warmup = " + warmup + "; need tp, threads, steps >= 1 and warmup >= 0");
            }
            if (interleave && !reduction) {
                throw new IllegalArgumentException("rank options: --interleave times steps with and without the reduction;"
                        + " drop --no-reduction");
            }
        }

        /**
         * @param args the rank's command line
         * @return the options
         */
        public static Options parse(String[] args) {
            Flags f = Flags.parse(args, VALUED, BOOLEANS);
            TransformerConfig c = Presets.get(f.string("model", "bert-base"));
            int layers = f.integer("layers", 0);
            if (layers > 0) {
                c = c.toBuilder().setNumLayers(layers).build();
            }
            String label = f.string("model", "bert-base") + "/L" + c.numLayers();
            StepSpec spec = new StepSpec(c, label, f.integer("batch", 8), f.integer("seq", 128), f.string("optimizer", "adamw"),
                    f.number("lr", 1e-4), f.number("clip", 1.0), f.longValue("seed", 1234));
            return new Options(spec, f.integer("tp", 1), f.integer("threads", 1), f.integer("steps", 10),
                    f.integer("warmup", 3), f.seconds("timeout", Duration.ofSeconds(600)),
                    Devices.parse(f.string("device", "cpu")), f.flag("reduction", true), f.flag("interleave", false));
        }

        /** @return the command-line form, for the launcher */
        public List<String> toArgs() {
            List<String> args = new ArrayList<>(List.of("--model", spec.label().substring(0, spec.label().lastIndexOf('/')),
                    "--layers", Integer.toString(spec.config().numLayers()), "--batch", Integer.toString(spec.batch()),
                    "--seq", Integer.toString(spec.seq()), "--steps", Integer.toString(steps), "--warmup", Integer.toString(warmup),
                    "--tp", Integer.toString(tensorParallel), "--threads", Integer.toString(threads),
                    "--optimizer", spec.optimizer(), "--lr", Double.toString(spec.learningRate()),
                    "--clip", Double.toString(spec.maxGradNorm()), "--seed", Long.toString(spec.seed()),
                    "--timeout", Long.toString(timeout.toSeconds()), "--device", device.toString()));
            if (!reduction) {
                args.add("--no-reduction");
            }
            if (interleave) {
                args.add("--interleave");
            }
            return List.copyOf(args);
        }

        /**
         * @return these options with the data-parallel reduction replaced by a no-op
         */
        public Options withoutReduction() {
            return new Options(spec, tensorParallel, threads, steps, warmup, timeout, device, false, false);
        }

        /**
         * @return these options timing steps with and without the reduction in alternation
         */
        public Options interleaved() {
            return new Options(spec, tensorParallel, threads, steps, warmup, timeout, device, true, true);
        }
    }

    /**
     * @param args see {@link Options#toArgs()}
     */
    public static void main(String[] args) {
        Options o = Options.parse(args);
        Torch.setThreads(o.threads());
        JobEnvironment env = JobEnvironment.fromEnv();
        ParallelLayout layout = ParallelLayout.of(env.worldSize(), o.tensorParallel(), 1);
        Device device = o.device().resolve(env.localRank(), env.localWorldSize());
        CommOptions options = CommOptions.defaults().withTimeout(o.timeout());
        java.util.function.Consumer<ParallelContext> body = joined -> {
            ParallelContext ctx = o.reduction() ? joined : withoutReduction(joined);
            try (TesseraTrainStep step = TesseraTrainStep.create(o.spec(), ctx, device);
                 TesseraTrainStep baseline = o.interleave() ? TesseraTrainStep.create(o.spec(), withoutReduction(joined), device)
                         : null) {
                List<TesseraTrainStep> kinds = baseline == null ? List.of(step) : List.of(step, baseline);
                for (int i = 0; i < o.warmup(); i++) {
                    for (TesseraTrainStep k : kinds) {
                        k.run();
                    }
                }
                ctx.world().barrier();
                List<List<Double>> times = new ArrayList<>();
                kinds.forEach(k -> times.add(new ArrayList<>()));
                for (int i = 0; i < o.steps(); i++) {
                    for (int j = 0; j < kinds.size(); j++) {
                        int k = i % 2 == 0 ? j : kinds.size() - 1 - j;   // the order alternates pair by pair
                        if (baseline != null) {
                            ctx.world().barrier();   // untimed: a no-op step never overlaps another rank's real one
                        }
                        long t0 = System.nanoTime();
                        kinds.get(k).run();
                        times.get(k).add((System.nanoTime() - t0) / 1e9);
                    }
                }
                JsonObject j = new JsonObject();
                j.addProperty("rank", ctx.rank());
                j.addProperty("world", layout.world());
                j.addProperty("tp", layout.tensor());
                j.addProperty("dp", layout.data());
                j.addProperty("threads", Torch.threads());
                j.add("step_s", array(times.get(0)));
                if (baseline != null) {
                    j.add(NO_REDUCE_KEY, array(times.get(1)));
                }
                j.addProperty("loss", step.lastLoss());
                j.addProperty("detail", step.describe());
                j.addProperty("reduction", o.reduction());
                j.addProperty("interleave", o.interleave());
                System.out.println(RESULT_MARKER + j);
                System.out.flush();
            }
        };
        NcclGroups.runOn(device, env, layout, options, body);
    }

    private static JsonArray array(List<Double> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    /**
     * @param ctx a rank's context
     * @return the same context with a {@link NoOpCommunicator} standing in for its data-parallel group
     */
    static ParallelContext withoutReduction(ParallelContext ctx) {
        return new ParallelContext(ctx.rank(), ctx.layout(), ctx.world(), ctx.tensor(),
                NoOpCommunicator.standingInFor(ctx.data()));
    }
}
