package io.tessera.benchmarks.scaling;

import io.tessera.benchmarks.report.Flags;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.step.StepSpec;
import io.tessera.core.Devices;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Options of {@link ScalingBenchmark}.
 *
 * <p>Thread safety: immutable.
 *
 * @param model a preset name ({@code --model bert-base})
 * @param layers layer count override, 0 to keep the preset's ({@code --layers 2})
 * @param batch weak scaling: sequences per data-parallel rank; strong: the global batch ({@code --batch 8})
 * @param seq tokens per sequence ({@code --seq 128})
 * @param steps timed steps per point ({@code --steps 10}; median of the slowest rank's step)
 * @param warmup untimed steps first ({@code --warmup 3})
 * @param modes {@code weak}, {@code strong} or both ({@code --mode weak|strong|both}, default weak)
 * @param dataParallel data-parallel degrees ({@code --dp 1,2,4})
 * @param tensorParallel tensor-parallel degrees ({@code --tp 1,2})
 * @param cores threads shared by the ranks of a point: each of N ranks gets {@code max(1, cores / N)}
 *     ({@code --cores}, default: all cores)
 * @param oversubscribe whether to run points with more ranks than cores ({@code --oversubscribe}); by default
 *     they are skipped with a note ("4 where it fits")
 * @param optimizer Tessera's optimizer ({@code --optimizer adamw})
 * @param learningRate learning rate ({@code --lr 1e-4})
 * @param maxGradNorm gradient clipping, 0 for none ({@code --clip 1.0})
 * @param seed seed ({@code --seed 1234})
 * @param reference whether to run PyTorch DDP + Gloo ({@code --no-reference} to skip)
 * @param python the interpreter ({@code --python /usr/bin/python3})
 * @param referenceDir where the scripts are ({@code --reference-dir})
 * @param timeout bound of each Tessera job's collectives and of each reference run ({@code --timeout 1800} seconds)
 * @param rankHeap heap of each rank JVM ({@code --rank-heap 3g})
 * @param ceilingReps timed runs per GEMM backend of the ceiling ({@code --ceiling-reps 10})
 * @param json report file ({@code --json}), or null
 * @param csv rows file ({@code --csv}), or null
 * @param plots directory for PNG charts ({@code --plots}), or null
 * @param device {@code cpu} (default) or {@code cuda} ({@code --device}): rank with local rank L on cuda:L,
 *     NCCL for Tessera's groups and PyTorch DDP; points needing more GPUs than the host has are skipped
 * @param exposed whether each data-parallel point (dp ≥ 2, tp = 1) is run a second time with the gradient
 *     reduction replaced by a no-op, for the exposed-communication fraction ({@code --no-exposed} to skip)
 */
public record ScalingOptions(String model, int layers, int batch, int seq, int steps, int warmup, List<String> modes,
                             List<Integer> dataParallel, List<Integer> tensorParallel, int cores, boolean oversubscribe,
                             String optimizer, double learningRate, double maxGradNorm, long seed, boolean reference,
                             Path python, Path referenceDir, Duration timeout, String rankHeap, int ceilingReps, Path json,
                             Path csv, Path plots, Devices device, boolean exposed) {

    private static final Set<String> VALUED = Set.of("model", "layers", "batch", "seq", "steps", "warmup", "mode", "dp",
            "tp", "cores", "optimizer", "lr", "clip", "seed", "python", "reference-dir", "timeout", "rank-heap",
            "ceiling-reps", "json", "csv", "plots", "device");
    private static final Set<String> BOOLEANS = Set.of("oversubscribe", "reference", "exposed", "help");

    /**
     * Checks every option and reports all problems at once.
     *
     * @throws IllegalArgumentException naming each option, its value and the fix
     */
    public ScalingOptions {
        Objects.requireNonNull(model, "model");
        modes = List.copyOf(Objects.requireNonNull(modes, "modes"));
        dataParallel = List.copyOf(Objects.requireNonNull(dataParallel, "dataParallel"));
        tensorParallel = List.copyOf(Objects.requireNonNull(tensorParallel, "tensorParallel"));
        Objects.requireNonNull(python, "python");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(rankHeap, "rankHeap");
        List<String> problems = new ArrayList<>();
        if (!Presets.names().contains(model.trim().toLowerCase(Locale.ROOT))) {
            problems.add("--model " + model + " is not a preset; use one of " + Presets.names());
        }
        if (layers < 0) {
            problems.add("--layers " + layers + " must be >= 0 (0 keeps the preset's layer count)");
        }
        for (String[] p : new String[][] {{"batch", "" + batch}, {"seq", "" + seq}, {"steps", "" + steps},
            {"cores", "" + cores}, {"ceiling-reps", "" + ceilingReps}}) {
            if (Integer.parseInt(p[1]) < 1) {
                problems.add("--" + p[0] + " " + p[1] + " must be at least 1");
            }
        }
        if (warmup < 0) {
            problems.add("--warmup " + warmup + " must be >= 0");
        }
        if (modes.isEmpty() || !List.of("weak", "strong").containsAll(modes)) {
            problems.add("--mode " + modes + ": use weak, strong or both");
        }
        if (dataParallel.isEmpty() || dataParallel.stream().anyMatch(d -> d < 1)) {
            problems.add("--dp " + dataParallel + ": give positive degrees, e.g. 1,2,4");
        }
        if (tensorParallel.isEmpty() || tensorParallel.stream().anyMatch(t -> t < 1)) {
            problems.add("--tp " + tensorParallel + ": give positive degrees, e.g. 1,2");
        }
        if (!StepSpec.OPTIMIZERS.contains(optimizer)) {
            problems.add("--optimizer " + optimizer + ": use one of " + StepSpec.OPTIMIZERS);
        }
        if (!(learningRate > 0)) {
            problems.add("--lr " + learningRate + " must be positive");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            problems.add("--timeout " + timeout.toSeconds() + " must be a positive number of seconds");
        }
        Objects.requireNonNull(device, "device");
        if (device.kind() == Devices.Kind.CUDA_INDEX) {
            problems.add("--device " + device + ": a scaling run puts rank L on cuda:L; use --device cuda (or cpu)");
        }
        if (!rankHeap.matches("[0-9]+[kKmMgG]?")) {
            problems.add("--rank-heap " + rankHeap + ": use a JVM size such as 3g or 2048m");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid scaling options:\n  - " + String.join("\n  - ", problems));
        }
    }

    /**
     * Reads the options; absent ones take the defaults in the component documentation.
     *
     * @param args command-line arguments
     * @return the options
     */
    public static ScalingOptions parse(String[] args) {
        Flags f = Flags.parse(args, VALUED, BOOLEANS);
        String mode = f.string("mode", "weak").trim().toLowerCase(Locale.ROOT);
        List<String> modes = mode.equals("both") ? List.of("weak", "strong") : List.of(mode);
        return new ScalingOptions(f.string("model", "bert-base"), f.integer("layers", 2), f.integer("batch", 8),
                f.integer("seq", 128), f.integer("steps", 10), f.integer("warmup", 3), modes,
                f.integers("dp", List.of(1, 2, 4)), f.integers("tp", List.of(1, 2)),
                f.integer("cores", Runtime.getRuntime().availableProcessors()), f.flag("oversubscribe", false),
                f.string("optimizer", "adamw").toLowerCase(Locale.ROOT), f.number("lr", 1e-4), f.number("clip", 1.0),
                f.longValue("seed", 1234), f.flag("reference", true), f.path("python", PyTorchReference.DEFAULT_PYTHON),
                f.path("reference-dir", null), f.seconds("timeout", Duration.ofSeconds(1800)), f.string("rank-heap", "3g"),
                f.integer("ceiling-reps", 10), f.path("json", null), f.path("csv", null), f.path("plots", null),
                Devices.parse(f.string("device", "cpu")), f.flag("exposed", true));
    }

    /** @return the preset with the layer override applied */
    public TransformerConfig config() {
        TransformerConfig c = Presets.get(model);
        return layers > 0 ? c.toBuilder().setNumLayers(layers).build() : c;
    }

    /** @return the model's name in reports, e.g. {@code bert-base/L2} */
    public String label() {
        return model.trim().toLowerCase(Locale.ROOT) + "/L" + config().numLayers();
    }

    /**
     * The step one rank runs at a point.
     *
     * @param mode weak or strong
     * @param dp the data-parallel degree
     * @return the spec with the per-rank batch
     */
    public StepSpec spec(String mode, int dp) {
        int perRank = mode.equals("weak") ? batch : batch / dp;
        return new StepSpec(config(), label(), perRank, seq, optimizer, learningRate, maxGradNorm, seed);
    }

    /** @return the usage text */
    public static String usage() {
        return """
                usage: tessera bench scaling [options]
                  Weak and strong scaling of Tessera over data-parallel and tensor-parallel degrees, N local
                  processes with cores/N threads each, beside PyTorch DDP + Gloo (benchmarks/reference/ddp_scaling.py)
                  in the same run. Throughput efficiency = throughput(N) / (N x throughput(1)) (on a CPU it
                  includes thread scaling); each data-parallel point (dp >= 2, tp = 1) also runs with the
                  gradient reduction as a no-op (Tessera) or inside no_sync() (DDP), for
                  exposed comm = 1 - step(no reduction) / step(with reduction).
                  --model NAME            preset                                  (bert-base)
                  --layers N              layer override, 0 = preset's            (2)
                  --batch N               weak: per data-parallel rank; strong: global   (8)
                  --seq N                 tokens per sequence                     (128)
                  --steps N  --warmup N   timed / untimed steps per point         (10, 3)
                  --mode weak|strong|both                                         (weak)
                  --dp 1,2,4              data-parallel degrees                   (1,2,4)
                  --tp 1,2                tensor-parallel degrees                 (1,2)
                  --cores N               threads shared by a point's ranks       (all cores)
                  --oversubscribe         also run points with more ranks than cores
                  --optimizer adamw|lamb  --lr X  --clip X  --seed N
                  --no-reference          skip PyTorch DDP
                  --no-exposed            skip the no-reduction runs (no exposed-comm column)
                  --python PATH  --reference-dir DIR
                  --timeout S             per job and per reference run           (1800)
                  --rank-heap SIZE        heap of each rank JVM                   (3g)
                  --ceiling-reps N        timed runs per GEMM backend             (10)
                  --json FILE  --csv FILE  --plots DIR   write the report
                  --device cpu|cuda|auto  cuda: rank L on cuda:L, NCCL for Tessera and DDP; points that need
                                          more GPUs than this host has are skipped   (cpu)
                """;
    }
}
