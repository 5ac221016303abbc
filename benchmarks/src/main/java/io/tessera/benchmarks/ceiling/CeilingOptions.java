package io.tessera.benchmarks.ceiling;

import io.tessera.benchmarks.report.Flags;
import io.tessera.benchmarks.report.PyTorchReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Options of {@link CeilingBenchmark}.
 *
 * <p>Thread safety: immutable.
 *
 * @param shapes products to time ({@code --shapes 2048x768x3072,2048x2048x2048})
 * @param warmup untimed runs per backend and shape ({@code --warmup 2})
 * @param reps timed runs per backend and shape ({@code --reps 10})
 * @param threads threads for every backend ({@code --threads}, default: all cores)
 * @param openblas whether to time OpenBLAS ({@code --no-openblas} to skip)
 * @param fp16 whether to time libtorch fp16 ({@code --fp16}; off by default: on a CPU libtorch's fp16 product is
 *     not vectorised, 2.6 GFLOP/s on this project's 2-core machine against 58 in fp32 at 512³, so the default
 *     shapes would take tens of minutes)
 * @param reference whether to run {@code matmul_ceiling.py} ({@code --no-reference} to skip)
 * @param python the interpreter for the reference ({@code --python /usr/bin/python3})
 * @param referenceDir where the scripts are ({@code --reference-dir}; default: copies inside the jar)
 * @param referenceTimeout longest the reference may run ({@code --reference-timeout 600} seconds)
 * @param json report file ({@code --json}), or null
 * @param csv measurements file ({@code --csv}), or null
 */
public record CeilingOptions(List<MatmulShape> shapes, int warmup, int reps, int threads, boolean openblas, boolean fp16,
                             boolean reference, Path python, Path referenceDir, Duration referenceTimeout, Path json, Path csv) {

    private static final Set<String> VALUED = Set.of("shapes", "warmup", "reps", "threads", "python", "reference-dir",
            "reference-timeout", "json", "csv");
    private static final Set<String> BOOLEANS = Set.of("openblas", "fp16", "reference", "help");

    /**
     * @throws IllegalArgumentException naming every option that breaks its rule
     */
    public CeilingOptions {
        shapes = List.copyOf(Objects.requireNonNull(shapes, "shapes"));
        Objects.requireNonNull(python, "python");
        Objects.requireNonNull(referenceTimeout, "referenceTimeout");
        List<String> problems = new ArrayList<>();
        if (shapes.isEmpty()) {
            problems.add("--shapes is empty: give at least one MxKxN");
        }
        if (warmup < 0) {
            problems.add("--warmup " + warmup + " must be >= 0");
        }
        if (reps < 1) {
            problems.add("--reps " + reps + " must be >= 1 (use 10 or more on a shared machine)");
        }
        if (threads < 1) {
            problems.add("--threads " + threads + " must be >= 1");
        }
        if (referenceTimeout.isNegative() || referenceTimeout.isZero()) {
            problems.add("--reference-timeout " + referenceTimeout.toSeconds() + " must be a positive number of seconds");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid ceiling options:\n  - " + String.join("\n  - ", problems));
        }
    }

    /**
     * Reads the options; absent ones take the defaults in the component documentation.
     *
     * @param args command-line arguments
     * @return the options
     */
    public static CeilingOptions parse(String[] args) {
        Flags f = Flags.parse(args, VALUED, BOOLEANS);
        return new CeilingOptions(
                MatmulShape.parseList(f.string("shapes", MatmulShape.BERT_MLP + "," + MatmulShape.SQUARE)),
                f.integer("warmup", 2), f.integer("reps", 10), f.integer("threads", Runtime.getRuntime().availableProcessors()),
                f.flag("openblas", true), f.flag("fp16", false), f.flag("reference", true),
                f.path("python", PyTorchReference.DEFAULT_PYTHON), f.path("reference-dir", null),
                f.seconds("reference-timeout", Duration.ofSeconds(600)), f.path("json", null), f.path("csv", null));
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
                usage: tessera bench ceiling [options]
                  Measures fp32 matrix-product rates of libtorch (MKL) and OpenBLAS (JavaCPP, zero-copy) in this
                  process, libtorch fp16, and PyTorch's fp32/bf16 through benchmarks/reference/matmul_ceiling.py.
                  --shapes MxKxN,...      products to time            (2048x768x3072,2048x2048x2048)
                  --warmup N              untimed runs per backend     (2)
                  --reps N                timed runs per backend       (10; median reported)
                  --threads N             threads of every backend     (all cores)
                  --no-openblas           skip OpenBLAS
                  --fp16                  also time libtorch fp16 (off: on a CPU it is unvectorised,
                                          about 2.6 GFLOP/s on 2 cores, minutes per shape)
                  --no-reference          skip the PyTorch reference
                  --python PATH           interpreter with torch       (/usr/bin/python3)
                  --reference-dir DIR     reference scripts            (copies inside the jar)
                  --reference-timeout S   seconds                      (600)
                  --json FILE             write the report as JSON
                  --csv FILE              write the measurements as CSV
                bf16 is never attempted in this JVM: DJL 0.35.1's PyTorch JNI aborts on BFLOAT16.
                """;
    }
}
