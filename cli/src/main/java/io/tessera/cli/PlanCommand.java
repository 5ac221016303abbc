package io.tessera.cli;

import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.plan.MemoryPlan;
import io.tessera.optim.plan.ModelStateBytes;
import io.tessera.optim.plan.TrainingPrecision;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera plan}: model-state memory per GPU for a preset, a GPU count and memory, a
 * tensor-parallel degree and a ZeRO stage, by the ZeRO paper's formulas with the exact per-rank
 * parameter count; rejects impossible layouts with a reason.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Model-state memory per GPU for a layout and ZeRO stage, and whether it fits.")
final class PlanCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "Preset name or config.json path.")
    String model;

    @Option(names = "--gpus", required = true, description = "Number of GPUs.")
    int gpus;

    @Option(names = "--gpu-memory", converter = MemorySize.Converter.class, description = "Memory per GPU: 32 or 32GiB or 32G"
            + " (GiB, 2^30 bytes), 32GB (10^9 bytes), also MiB/MB/TiB/TB. Default: ${DEFAULT-VALUE} (GiB).")
    MemorySize gpuMemory = MemorySize.parse("32");

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: ${DEFAULT-VALUE}.")
    int tp = 1;

    @Option(names = "--zero", description = "ZeRO stage 0-3. Default: ${DEFAULT-VALUE}.")
    int zero;

    @Option(names = "--precision", description = "${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
    TrainingPrecision precision = TrainingPrecision.MIXED_FP16;

    @Override
    public Integer call() throws Exception {
        TransformerConfig config = PretrainCommand.loadModel(model);
        ParameterCount count = ParameterCount.ofPaddedVocab(config, ModelVariant.PRETRAINING_MODEL, tp);
        MemoryPlan plan = MemoryPlan.builder().setParametersPerRank(count.perTensorParallelRank()).setNumHeads(config.numHeads())
                .setGpus(gpus).optTensorParallel(tp).setZeroStage(zero).optPrecision(precision).build();
        ModelStateBytes m = plan.perGpu();
        long memory = gpuMemory.bytes();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("model            %s: %,d parameters (%s, vocabulary padded to %d for tp %d)%n", model, count.total(),
                ModelVariant.PRETRAINING_MODEL.hfClassName(config), count.vocabSize(), tp);
        out.printf("layout           %d GPUs = tp %d × dp %d, ZeRO stage %d, %s%n", gpus, tp, plan.dataParallel(), zero, precision);
        out.printf("Ψ per tp rank    %,d parameters%n", count.perTensorParallelRank());
        out.printf("parameters       %8.2f GB%n", m.parameters() / 1e9);
        out.printf("gradients        %8.2f GB%n", m.gradients() / 1e9);
        out.printf("optimizer        %8.2f GB%n", m.optimizerStates() / 1e9);
        out.printf("model states     %8.2f GB per GPU (%.2f GiB) of %s: %s%n", m.total() / 1e9, m.total() / (double) (1L << 30),
                gib(gpuMemory), m.fits(memory) ? "fits" : "does NOT fit");
        out.println("(model states only: activations, buffers and fragmentation come on top)");
        out.flush();
        return m.fits(memory) ? 0 : 3;
    }

    /** @return the size in GiB, without decimals when whole ("32"), else with what was written ("29.80 GiB (32GB)" ) */
    private static String gib(MemorySize size) {
        double g = size.gib();
        return g == Math.rint(g) ? String.format("%.0f GiB", g) : String.format("%.2f GiB (%s)", g, size.text());
    }
}
