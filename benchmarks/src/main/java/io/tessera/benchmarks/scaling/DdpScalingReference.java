package io.tessera.benchmarks.scaling;

import com.google.gson.JsonObject;
import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.report.ResultRow;
import io.tessera.benchmarks.report.Samples;
import io.tessera.benchmarks.step.BertReference;
import io.tessera.benchmarks.step.StepSpec;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The PyTorch side of {@link ScalingBenchmark}: {@code ddp_scaling.py} (DDP + Gloo on the CPU, NCCL on GPUs)
 * over a list of world sizes, one row per world, and with {@code --interleave} a second row per world from
 * the {@code no_sync()} steps timed in alternation with the synced ones.
 *
 * <p>Thread safety: stateless.
 */
final class DdpScalingReference {

    private DdpScalingReference() {}

    /**
     * Runs DDP at the given worlds.
     *
     * @param o the benchmark's options (model, batch, steps, threads)
     * @param mode {@code weak} or {@code strong}
     * @param worlds the process counts
     * @param ceiling the run's matrix-product ceiling, for MFU
     * @param ref the reference runner
     * @param gpu whether the ranks run on GPUs (NCCL) rather than the CPU (Gloo)
     * @param out progress lines
     * @param interleave whether each world also times {@code no_sync()} steps, in alternation with the synced
     *     ones ({@code ddp_scaling.py --interleave})
     * @return the rows with the reduction, then those without it (empty unless interleaved)
     */
    static List<List<ResultRow>> run(ScalingOptions o, String mode, List<Integer> worlds, boolean interleave,
                                     Ceiling ceiling, PyTorchReference ref, boolean gpu, PrintStream out) {
        if (worlds.isEmpty()) {
            return List.of(List.of(), List.of());
        }
        List<String> w = new ArrayList<>();
        worlds.forEach(x -> w.add(Integer.toString(x)));
        StepSpec global = new StepSpec(o.config(), o.label(), o.batch(), o.seq(), "adamw", o.learningRate(), o.maxGradNorm(),
                o.seed());
        String backend = gpu ? "NCCL" : "Gloo";
        out.printf(Locale.ROOT, "pytorch DDP+%s %s%s: worlds %s%n", backend, mode,
                interleave ? " (steps with and without no_sync(), alternating)" : "", w);
        List<String> args = new ArrayList<>(List.of("--config", BertReference.config(global, o.steps(), o.warmup(),
                gpu ? "cuda" : "cpu").toString(), "--worlds", String.join(",", w), "--mode", mode));
        if (interleave) {
            args.add("--interleave");
        }
        List<JsonObject> lines = ref.run("ddp_scaling.py", args, o.cores());
        List<ResultRow> synced = new ArrayList<>();
        List<ResultRow> unsynced = new ArrayList<>();
        for (JsonObject j : lines) {
            int world = j.get("world").getAsInt();
            Samples s = BertReference.samples(j);
            out.printf(Locale.ROOT, "  world %d: median %.4f s/step%n", world, s.median());
            String detail = BertReference.describe(j) + ", DDP + " + backend;
            synced.add(ResultRow.measured(ResultRow.PYTORCH, mode, o.label(), o.spec(mode, world).shape(), 1, world,
                    j.get("threads_per_rank").getAsInt(), s.median(), ceiling, detail, gpu ? "cuda" : "cpu", "fp32"));
            if (interleave) {
                Samples n = BertReference.samples(j, "step_s_no_sync");
                out.printf(Locale.ROOT, "  world %d: median %.4f s/step in no_sync()%n", world, n.median());
                unsynced.add(ResultRow.measured(ResultRow.PYTORCH, mode, o.label(), o.spec(mode, world).shape(), 1, world,
                        j.get("threads_per_rank").getAsInt(), n.median(), ceiling, detail + ", no_sync()",
                        gpu ? "cuda" : "cpu", "fp32"));
            }
        }
        return List.of(synced, unsynced);
    }

}
