package io.tessera.benchmarks.step;

import io.tessera.core.Devices;
import io.tessera.core.gemm.GemmBackend;
import io.tessera.benchmarks.report.Flags;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.amp.Precision;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Options of {@link StepBenchmark}.
 *
 * <p>Thread safety: immutable.
 *
 * @param model a preset name ({@code --model bert-base}; see {@code Presets.names()})
 * @param layers layer count override, 0 to keep the preset's ({@code --layers 2})
 * @param batch sequences per step ({@code --batch 8})
 * @param seq tokens per sequence ({@code --seq 128})
 * @param steps timed steps ({@code --steps 10}; the median is reported)
 * @param warmup untimed steps first ({@code --warmup 3})
 * @param rounds alternating Tessera/PyTorch rounds of {@code steps} timed steps each ({@code --rounds 1}); more
 *     rounds spread the load of other processes over both systems
 * @param threads intra-op threads of Tessera and of PyTorch ({@code --threads}, default: all cores)
 * @param optimizer {@code adamw} or {@code lamb} ({@code --optimizer adamw}; the reference always uses AdamW)
 * @param learningRate constant learning rate ({@code --lr 1e-4})
 * @param maxGradNorm clipping threshold, 0 for none ({@code --clip 1.0}); both systems compute the norm
 * @param seed model and data seed ({@code --seed 1234})
 * @param reference whether to run the PyTorch reference ({@code --no-reference} to skip)
 * @param python the interpreter ({@code --python /usr/bin/python3})
 * @param referenceDir where the scripts are ({@code --reference-dir}; default: copies inside the jar)
 * @param referenceTimeout longest the reference may run ({@code --reference-timeout 1800} seconds)
 * @param ceilingReps timed runs per backend of the ceiling measurement ({@code --ceiling-reps 10})
 * @param json report file ({@code --json}), or null
 * @param csv rows file ({@code --csv}), or null
 * @param plots directory for PNG charts ({@code --plots}), or null
 * @param gemm the GEMM strategy of Tessera's layers ({@code --gemm planned|measured|openblas|libtorch}; default: the
 *     process-wide setting, see {@link io.tessera.core.gemm.Gemms})
 * @param profile whether to print where Tessera's step time goes, by node kind ({@code --profile})
 * @param device where both systems compute ({@code --device cpu|cuda|cuda:N|auto}; default {@code cpu}, so
 *     that a command gives the same kind of figure on every machine; the GPU mode is asked for)
 * @param precision compute precision of both systems ({@code --precision fp32|fp16}; fp16 is Tessera's mixed
 *     precision and PyTorch's autocast with a GradScaler)
 * @param repeats complete runs (ceiling and both systems each time), summarised by median and spread
 *     ({@code --repeats 1}; see {@link Repeats})
 */
public record StepOptions(String model, int layers, int batch, int seq, int steps, int warmup, int rounds, int threads,
                          String optimizer, double learningRate, double maxGradNorm, long seed, boolean reference,
                          Path python, Path referenceDir, Duration referenceTimeout, int ceilingReps, Path json, Path csv,
                          Path plots, GemmBackend gemm, boolean profile, Devices device, Precision precision,
                          int repeats) {

    private static final Set<String> VALUED = Set.of("model", "layers", "batch", "seq", "steps", "warmup", "rounds", "threads",
            "optimizer", "lr", "clip", "seed", "python", "reference-dir", "reference-timeout", "ceiling-reps", "json", "csv",
            "plots", "gemm", "device", "precision", "repeats");
    private static final Set<String> BOOLEANS = Set.of("reference", "help", "profile");

    /**
     * Checks every option and reports all problems at once.
     *
     * @throws IllegalArgumentException naming each option, its value and the fix
     */
    public StepOptions {
        Objects.requireNonNull(model, "model");
        optimizer = Objects.requireNonNull(optimizer, "optimizer").toLowerCase(Locale.ROOT);
        Objects.requireNonNull(python, "python");
        Objects.requireNonNull(referenceTimeout, "referenceTimeout");
        List<String> problems = new ArrayList<>();
        if (!Presets.names().contains(model.trim().toLowerCase(Locale.ROOT))) {
            problems.add("--model " + model + " is not a preset; use one of " + Presets.names());
        }
        if (layers < 0) {
            problems.add("--layers " + layers + " must be >= 0 (0 keeps the preset's layer count)");
        }
        positive(problems, "batch", batch);
        positive(problems, "seq", seq);
        positive(problems, "steps", steps);
        positive(problems, "rounds", rounds);
        positive(problems, "threads", threads);
        positive(problems, "ceiling-reps", ceilingReps);
        positive(problems, "repeats", repeats);
        if (warmup < 0) {
            problems.add("--warmup " + warmup + " must be >= 0");
        }
        if (!StepSpec.OPTIMIZERS.contains(optimizer)) {
            problems.add("--optimizer " + optimizer + ": use one of " + StepSpec.OPTIMIZERS);
        }
        if (!(learningRate > 0)) {
            problems.add("--lr " + learningRate + " must be positive, e.g. 1e-4");
        }
        if (Double.isNaN(maxGradNorm)) {
            problems.add("--clip NaN: use 1.0, or 0 for no clipping");
        }
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(precision, "precision");
        if (precision == Precision.BF16) {
            problems.add(Precision.unsupportedMessage());
        }
        if (referenceTimeout.isNegative() || referenceTimeout.isZero()) {
            problems.add("--reference-timeout " + referenceTimeout.toSeconds() + " must be a positive number of seconds");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid step benchmark options:\n  - " + String.join("\n  - ", problems));
        }
    }

    /**
     * Reads the options; absent ones take the defaults in the component documentation.
     *
     * @param args command-line arguments
     * @return the options
     */
    public static StepOptions parse(String[] args) {
        Flags f = Flags.parse(args, VALUED, BOOLEANS);
        return new StepOptions(f.string("model", "bert-base"), f.integer("layers", 2), f.integer("batch", 8),
                f.integer("seq", 128), f.integer("steps", 10), f.integer("warmup", 3), f.integer("rounds", 1),
                f.integer("threads", Runtime.getRuntime().availableProcessors()), f.string("optimizer", "adamw"),
                f.number("lr", 1e-4), f.number("clip", 1.0), f.longValue("seed", 1234), f.flag("reference", true),
                f.path("python", PyTorchReference.DEFAULT_PYTHON), f.path("reference-dir", null),
                f.seconds("reference-timeout", Duration.ofSeconds(1800)), f.integer("ceiling-reps", 10),
                f.path("json", null), f.path("csv", null), f.path("plots", null), gemm(f.string("gemm", null)),
                f.flag("profile", false), Devices.parse(f.string("device", "cpu")), precision(f.string("precision", "fp32")),
                f.integer("repeats", 1));
    }

    private static Precision precision(String value) {
        try {
            return Precision.parse(value);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static GemmBackend gemm(String value) {
        try {
            return value == null ? null : GemmBackend.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--gemm " + value + ": " + e.getMessage(), e);
        }
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

    /** @return the step this benchmark times */
    public StepSpec spec() {
        return new StepSpec(config(), label(), batch, seq, optimizer, learningRate, maxGradNorm, seed, precision);
    }

    /** @return the usage text */
    public static String usage() {
        return """
                usage: tessera bench step [options]
                  Times a full Tessera training step (forward, backward, optimizer) and the same step in PyTorch
                  eager (benchmarks/reference/bert_step.py) with the same threads, and reports Tessera/PyTorch
                  tokens/s and MFU against the matrix-product ceiling measured in the same run.
                  --model NAME            preset                             (bert-base)
                  --layers N              layer override, 0 = preset's       (2)
                  --batch N               sequences per step                 (8)
                  --seq N                 tokens per sequence                (128)
                  --steps N               timed steps, median reported       (10)
                  --warmup N              untimed steps first                (3)
                  --rounds N              alternating tessera/pytorch rounds (1; use 3 on a busy machine)
                  --threads N             intra-op threads of both systems   (all cores)
                  --optimizer adamw|lamb  Tessera's optimizer                (adamw; the reference uses AdamW)
                  --lr X                  learning rate                      (1e-4)
                  --clip X                gradient-norm clip, 0 = none       (1.0)
                  --seed N                model and data seed                (1234)
                  --no-reference          skip PyTorch
                  --python PATH           interpreter with torch             (/usr/bin/python3)
                  --reference-dir DIR     reference scripts                  (copies inside the jar)
                  --reference-timeout S   seconds                            (1800)
                  --ceiling-reps N        timed runs per GEMM backend        (10)
                  --gemm planned|measured|openblas|libtorch   Tessera's layer products (tessera.gemm /
                                          TESSERA_GEMM, else planned: the faster per shape, kept per machine)
                  --profile               print Tessera's step time by node kind and the GEMM choices
                  --device cpu|cuda|cuda:N|auto   where both systems run (cpu); on a GPU the ceiling is
                                          libtorch's and PyTorch's fp32/fp16/bf16 products on that device
                  --precision fp32|fp16   compute precision of both systems (fp32; fp16 = fp32 master
                                          weights + dynamic loss scaling, PyTorch autocast + GradScaler)
                  --repeats N             complete runs, median and spread   (1; 3 for a goal on a busy machine;
                                          the median run's report is the one written)
                  --json FILE  --csv FILE  --plots DIR   write the report
                """;
    }

    private static void positive(List<String> problems, String name, int value) {
        if (value < 1) {
            problems.add("--" + name + " " + value + " must be at least 1");
        }
    }
}
