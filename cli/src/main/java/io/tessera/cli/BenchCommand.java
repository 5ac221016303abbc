package io.tessera.cli;

import io.tessera.benchmarks.ceiling.CeilingBenchmark;
import io.tessera.benchmarks.ceiling.OpsBenchmark;
import io.tessera.benchmarks.collectives.CollectivesBenchmark;
import io.tessera.benchmarks.scaling.ScalingBenchmark;
import io.tessera.benchmarks.step.StepBenchmark;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code tessera bench ceiling|ops|step|scaling|collectives|bubble}: the benchmark harness. Each subcommand
 * passes its flags to the benchmark's own parser ({@code --help} lists them) and prints ratios measured
 * in the same run.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print measured ratios.",
        subcommands = {BenchCommand.Ceiling.class, BenchCommand.Ops.class, BenchCommand.Step.class, BenchCommand.Scaling.class,
            BenchCommand.Collectives.class, BenchCommand.Bubble.class})
final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Flags handed to the benchmark unparsed. */
    abstract static class PassThrough implements Callable<Integer> {
        @CommandLine.Unmatched
        List<String> args = new java.util.ArrayList<>();

        String[] argv() {
            return args.toArray(String[]::new);
        }
    }

    /** Measured matrix-product rate: libtorch, OpenBLAS, and PyTorch in the same run. */
    @Command(name = "ceiling", description = "Matrix-product ceiling of this machine (libtorch, OpenBLAS, PyTorch).")
    static final class Ceiling extends PassThrough {
        @Override
        public Integer call() {
            return CeilingBenchmark.run(argv(), System.out);
        }
    }

    /** Seconds per element of the non-GEMM op classes and the layers' GEMM rate: plan --estimate's CPU figures. */
    @Command(name = "ops", description = "Non-GEMM op costs per element and the layers' GEMM rate (plan --estimate --ops-json).")
    static final class Ops extends PassThrough {
        @Override
        public Integer call() {
            return OpsBenchmark.run(argv(), System.out);
        }
    }

    /** One training step, Tessera beside PyTorch, with MFU. */
    @Command(name = "step", description = "Training-step throughput and MFU, Tessera ÷ PyTorch.")
    static final class Step extends PassThrough {
        @Override
        public Integer call() {
            return StepBenchmark.run(argv(), System.out);
        }
    }

    /** Weak and strong scaling over local processes, Tessera beside PyTorch DDP. */
    @Command(name = "scaling", description = "Scaling efficiency over data- and tensor-parallel degrees, beside PyTorch DDP+Gloo.")
    static final class Scaling extends PassThrough {
        @Override
        public Integer call() {
            return ScalingBenchmark.run(argv(), System.out);
        }
    }

    /** Collective bandwidth of the Netty backend beside Gloo. */
    @Command(name = "collectives", description = "All-reduce/all-gather/... bandwidth, Tessera Netty ÷ PyTorch Gloo.")
    static final class Collectives extends PassThrough {
        @Override
        public Integer call() {
            if (args.contains("--help") || args.contains("-h")) {
                System.out.print(CollectivesBenchmark.usage());
                return 0;
            }
            CollectivesBenchmark.run(CollectivesBenchmark.parseArgs(argv()));
            return 0;
        }
    }

    /** Measured pipeline bubble beside the formula. */
    @Command(name = "bubble", description = "Pipeline bubble measured at PP 2 and 4 (GPipe, 1F1B) beside (p-1)/m.")
    static final class Bubble extends PassThrough {
        @Override
        public Integer call() {
            return io.tessera.benchmarks.pipeline.BubbleBenchmark.run(argv(), System.out);
        }
    }
}
