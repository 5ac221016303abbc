package io.tessera.benchmarks.pipeline;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.models.TokenBatch;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.optim.AdamW;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.pipeline.PipelineSchedule;
import io.tessera.parallel.pipeline.ScheduleKind;
import io.tessera.train.PipelineStep;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Measured pipeline bubble against the formula: a GPT-2-shaped model (C 256, 8 layers, T 64) trained
 * with {@link PipelineStep} at PP = 2 and 4, GPipe and 1F1B, ranks as threads of one process (one
 * libtorch thread each), and for each point the idle fraction each stage spent waiting for a neighbour:
 *
 * <pre>
 *   per timed step:  T = max over stages of the schedule's wall time;  busy_s = stage s's schedule time − its receive waits
 *   measured bubble = mean over stages of (T − busy_s) / busy_s,  median over the timed steps
 *   formula         = (p − 1) / m
 * </pre>
 *
 * <p>On a machine with fewer cores than stages the stages share cores, so a stage's compute is slowed
 * by its neighbours' and the measurement mixes in contention: the output says so. Prints one line per
 * point and the command.
 *
 * <p>Thread safety: a command; one call at a time.
 */
public final class BubbleBenchmark {

    private BubbleBenchmark() {}

    /**
     * Runs the benchmark.
     *
     * @param args {@code [--micro-batches M] [--steps S]} (defaults 8 and 4; the first step is a warm-up)
     * @param out where the table goes
     * @return exit status
     */
    public static int run(String[] args, PrintStream out) {
        int m = 8;
        int steps = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--micro-batches" -> m = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--help", "-h" -> {
                    out.println("tessera bench bubble [--micro-batches M (8)] [--steps S (4, the first a warm-up)]");
                    return 0;
                }
                default -> {
                    System.err.println("bench bubble: unknown argument " + args[i] + "; see --help");
                    return 2;
                }
            }
        }
        if (m < 4 || steps < 2) {
            System.err.println("bench bubble: --micro-batches " + m + " --steps " + steps + ": need at least 4 micro-batches"
                    + " (1F1B at PP 4) and 2 steps (one warm-up)");
            return 2;
        }
        TransformerConfig config = Presets.get("gpt2-tiny").toBuilder().setHiddenSize(256).setNumHeads(4).setNumLayers(8)
                .optIntermediateSize(1024).setMaxPositions(64).optHiddenDropout(0).optAttentionDropout(0).build();
        int cores = Runtime.getRuntime().availableProcessors();
        out.printf("pipeline bubble, GPT-2-shaped C=256 L=8 T=64, micro-batch 4, m=%d micro-batches, %d timed steps, %d cores%n",
                m, steps - 1, cores);
        out.printf("%-6s %-6s %10s %10s %10s%n", "pp", "sched", "formula", "measured", "step s");
        for (int pp : new int[] {2, 4}) {
            for (ScheduleKind kind : List.of(ScheduleKind.GPIPE, ScheduleKind.ONE_F_ONE_B)) {
                double[] r = point(config, pp, kind, m, steps);
                out.printf("%-6d %-6s %10.3f %10.3f %10.3f%s%n", pp, kind.flag(), PipelineSchedule.of(kind, pp, m, 1).bubbleFraction(),
                        r[0], r[1], pp > cores ? "   (stages share cores: contention included)" : "");
            }
        }
        out.println("command: bin/tessera bench bubble --micro-batches " + m + " --steps " + steps);
        return 0;
    }

    /** @return {median over steps of the measured bubble, median schedule seconds} */
    private static double[] point(TransformerConfig config, int pp, ScheduleKind kind, int m, int steps) {
        List<double[]> perStage = LocalCluster.run(new ParallelLayout(pp, 1, pp, 1), Duration.ofSeconds(600), ctx -> {
            Torch.setThreads(1);
            try (NDManager manager = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
                Gpt2LmHeadModel model = new Gpt2LmHeadModel(config, ctx, false);
                try (DataParallelOptimizer dpo = DataParallelOptimizer.create(0, new DataParallelOptimizer.Spec(model, 1, ctx,
                        (range, norms, mm) -> new AdamW(AdamW.Config.builder().build(), range, mm), 1 << 22, manager))) {
                    PipelineStep step = new PipelineStep(model, config.hiddenSize(), dpo, ctx, kind, Compute.ofProcess(), 1);
                    double[] times = new double[2 * (steps - 1)];
                    for (int s = 0; s < steps; s++) {
                        try (NDManager scope = manager.newSubManager()) {
                            step.run(s, batches(scope, config, m, s), scope);
                        }
                        dpo.step(1e-4, 1.0);
                        if (s > 0) {
                            times[2 * (s - 1)] = step.scheduleSeconds();
                            times[2 * (s - 1) + 1] = step.scheduleSeconds() - step.waitSeconds();
                        }
                    }
                    return times;
                }
            }
        });
        double[] bubble = new double[steps - 1];
        double[] seconds = new double[steps - 1];
        for (int s = 0; s < steps - 1; s++) {
            int k = s;
            double wall = perStage.stream().mapToDouble(r -> r[2 * k]).max().orElseThrow();
            bubble[s] = perStage.stream().mapToDouble(r -> (wall - r[2 * k + 1]) / r[2 * k + 1]).average().orElseThrow();
            seconds[s] = wall;
        }
        return new double[] {median(bubble), median(seconds)};
    }

    private static List<TokenBatch> batches(NDManager m, TransformerConfig c, int count, int step) {
        Random r = new Random(step);
        List<TokenBatch> out = new ArrayList<>();
        int b = 4;
        int t = 64;
        for (int i = 0; i < count; i++) {
            int[] ids = new int[b * t];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = r.nextInt(c.vocabSize());
            }
            out.add(TokenBatch.of(m, b, t, ids, null, null, ids, null));
        }
        return out;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
