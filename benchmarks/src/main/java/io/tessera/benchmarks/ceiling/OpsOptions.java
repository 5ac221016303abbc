package io.tessera.benchmarks.ceiling;

import io.tessera.benchmarks.report.Flags;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Options of {@link OpsBenchmark}: the model shape whose tensors are timed, and the repetitions.
 *
 * <p>Thread safety: immutable.
 *
 * @param model a preset name ({@code --model bert-base})
 * @param layers layer count override, 0 keeps the preset's ({@code --layers 2}); weights the GEMM rate
 * @param batch b, sequences per micro-batch ({@code --batch 8})
 * @param seq s ({@code --seq 128})
 * @param threads intra-op threads of libtorch and OpenBLAS ({@code --threads}, default: all cores)
 * @param warmup untimed runs per op ({@code --warmup 2})
 * @param reps timed rounds (every op once per round), the median reported ({@code --reps 7})
 * @param gemm whether to time the layers' products ({@code --no-gemm} to skip)
 * @param json report file ({@code --json}), or null
 */
public record OpsOptions(String model, int layers, int batch, int seq, int threads, int warmup, int reps, boolean gemm,
                         Path json) {

    private static final Set<String> VALUED = Set.of("model", "layers", "batch", "seq", "threads", "warmup", "reps", "json");
    private static final Set<String> BOOLEANS = Set.of("gemm", "help");

    /** @throws IllegalArgumentException naming every option that breaks its rule */
    public OpsOptions {
        Objects.requireNonNull(model, "model");
        List<String> p = new ArrayList<>();
        if (!Presets.names().contains(model.trim().toLowerCase(Locale.ROOT))) {
            p.add("--model " + model + " is not a preset; use one of " + Presets.names());
        }
        if (layers < 0) {
            p.add("--layers " + layers + " must be >= 0 (0 keeps the preset's layer count)");
        }
        if (batch < 1 || seq < 1 || threads < 1 || reps < 1) {
            p.add("--batch " + batch + ", --seq " + seq + ", --threads " + threads + " and --reps " + reps
                    + " must all be >= 1");
        }
        if (warmup < 0) {
            p.add("--warmup " + warmup + " must be >= 0");
        }
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid ops options:\n  - " + String.join("\n  - ", p));
        }
    }

    /**
     * @param args command-line arguments
     * @return the options; absent ones take the defaults in the component documentation
     */
    public static OpsOptions parse(String[] args) {
        Flags f = Flags.parse(args, VALUED, BOOLEANS);
        return new OpsOptions(f.string("model", "bert-base"), f.integer("layers", 2), f.integer("batch", 8),
                f.integer("seq", 128), f.integer("threads", Runtime.getRuntime().availableProcessors()),
                f.integer("warmup", 2), f.integer("reps", 7), f.flag("gemm", true),
                f.path("json", null));
    }

    /** @return the preset with the layer override */
    public TransformerConfig config() {
        TransformerConfig c = Presets.get(model);
        return layers > 0 ? c.toBuilder().setNumLayers(layers).build() : c;
    }

    /**
     * @param args command-line arguments
     * @return whether they ask for help
     */
    public static boolean wantsHelp(String[] args) {
        return List.of(args).contains("--help");
    }

    /** @return the usage text */
    public static String usage() {
        return """
                usage: tessera bench ops [options]
                  Seconds per element of the non-GEMM op classes a Tessera step runs (forward and backward, the
                  layers' own libtorch calls, on tensors of the model's shape), and the FLOP-weighted rate of the
                  layers' products on Tessera's GEMM strategy: the figures of plan --estimate --gpu cpu --ops-json.
                  AdamW is timed on the model's own parameters (DataParallelOptimizer.step, ZeRO 0).
                  --model NAME        preset                                   (bert-base)
                  --layers N          layer override, 0 = preset's             (2)
                  --batch N           sequences per micro-batch                (8)
                  --seq N             sequence length                          (128)
                  --threads N         libtorch and OpenBLAS threads            (all cores)
                  --warmup N          untimed runs per op                      (2)
                  --reps N            timed rounds, every op once per round    (7; median reported)
                  --no-gemm           skip the products (no GEMM rate in the report)
                  --json FILE         write the report as JSON
                """;
    }
}
