package io.tessera.cli;

import io.tessera.models.TransformerLayer;
import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.plan.ActivationMemory;
import io.tessera.optim.plan.MemoryPlan;
import io.tessera.optim.plan.ModelStateBytes;
import io.tessera.optim.plan.TesseraCpuActivations;
import io.tessera.optim.plan.TrainingPrecision;
import io.tessera.parallel.pipeline.PipelineSchedule;
import io.tessera.parallel.pipeline.ScheduleKind;
import io.tessera.parallel.pipeline.ScheduleSimulation;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera plan}: model-state memory per GPU for a preset, a GPU count and memory, a
 * tensor-parallel degree and a ZeRO stage, by the ZeRO paper's formulas with the exact per-rank
 * parameter count; rejects impossible layouts with a reason. With {@code --estimate}, the step time,
 * MFU and tokens/s that {@link io.tessera.optim.plan.estimate.StepTimeModel} predicts ({@link EstimateOptions}).
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Model-state memory per GPU for a layout and ZeRO stage, and whether it fits;"
                + " with --estimate, the predicted step time.")
final class PlanCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", description = "Preset name or config.json path (needed unless --print).")
    String model;

    @Option(names = "--gpus", description = "Number of GPUs (needed unless --print).")
    Integer gpus;

    @Option(names = "--gpu-memory", converter = MemorySize.Converter.class, description = "Memory per GPU: 32 or 32GiB or 32G"
            + " (GiB, 2^30 bytes), 32GB (10^9 bytes), also MiB/MB/TiB/TB. Default: ${DEFAULT-VALUE} (GiB).")
    MemorySize gpuMemory = MemorySize.parse("32");

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: ${DEFAULT-VALUE}.")
    int tp = 1;

    @Option(names = "--zero", description = "ZeRO stage 0-3. Default: ${DEFAULT-VALUE}.")
    int zero;

    @Option(names = "--precision", description = "${COMPLETION-CANDIDATES}: bytes of the model states, and with --estimate"
            + " of every activation and gradient sent (2 or 4). Default: ${DEFAULT-VALUE}.")
    TrainingPrecision precision = TrainingPrecision.MIXED_FP16;

    @Option(names = "--pp", description = "Pipeline-parallel degree. Default: ${DEFAULT-VALUE}.")
    int pp = 1;

    @Option(names = "--sequence-parallel", description = "Activations outside the tensor-parallel products split over the"
            + " sequence (needs --tp > 1).")
    boolean sequenceParallel;

    @Option(names = "--recompute-activations", description = "none, selective (attention scores and softmax) or full, for the"
            + " activation estimate. Default: ${DEFAULT-VALUE}.")
    String recomputeActivations = "none";

    @Option(names = "--schedule", converter = ScheduleConverter.class,
            description = "Pipeline schedule: gpipe, 1f1b or interleaved. Default: 1f1b.")
    ScheduleKind schedule = ScheduleKind.ONE_F_ONE_B;

    @Option(names = "--virtual-stages", description = "Model chunks per pipeline rank (interleaved). Default: ${DEFAULT-VALUE}.")
    int virtualStages = 1;

    @Option(names = "--micro-batches", description = "Micro-batches per optimizer step (global batch / (micro-batch × dp))."
            + " Default: 2 × --pp.")
    Integer microBatches;

    @Option(names = "--print", description = "Print the pipeline schedule of each stage, its bubble by the formula and as"
            + " simulated, and the activations each stage holds; then stop.")
    boolean print;

    @Option(names = "--best", description = "List the K fastest layouts (tp, pp, virtual stages, dp, ZeRO) of --model on --gpus"
            + " that fit --gpu-memory, by the step-time model, at a fixed global batch (default micro-batch × gpus).")
    Integer best;

    @CommandLine.Mixin
    EstimateOptions estimate = new EstimateOptions();

    @Override
    public Integer call() throws Exception {
        if (print) {
            return printSchedule(spec.commandLine().getOut());
        }
        if (model == null || gpus == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "plan needs --model and --gpus (or --print to show a"
                    + " pipeline schedule)");
        }
        TransformerConfig config = PretrainCommand.loadModel(model);
        if (best != null) {
            return printBest(spec.commandLine().getOut(), estimate.layers == null ? config
                    : config.toBuilder().setNumLayers(estimate.layers).build());
        }
        if (estimate.estimate) {
            return estimate.print(spec.commandLine().getOut(), config, gpus, tp, pp, virtualStages, zero, microBatches,
                    precision);
        }
        // Checked before anything is printed: layers over pp × v, micro-batches for 1F1B, sequence parallelism without tp.
        int mb = microBatches != null ? microBatches : pp > 1 ? 2 * pp : 1;
        ActivationMemory a = new ActivationMemory(estimate.seq != null ? estimate.seq : config.maxPositions(), estimate.microBatch,
                config.hiddenSize(), config.numHeads(), config.numLayers(), tp, pp, virtualStages, mb,
                pp > 1 ? schedule : ScheduleKind.ONE_F_ONE_B, sequenceParallel, ActivationMemory.Recompute.parse(recomputeActivations));
        ParameterCount count = ParameterCount.ofPaddedVocab(config, ModelVariant.PRETRAINING_MODEL, tp);
        // A pipeline stage holds about 1/pp of a tensor-parallel shard (embeddings and heads make the first and last more).
        long perStage = (count.perTensorParallelRank() + pp - 1) / pp;
        MemoryPlan plan = MemoryPlan.builder().setParametersPerRank(perStage).setNumHeads(config.numHeads())
                .setGpus(gpus).optTensorParallel(tp).optPipelineParallel(pp).setZeroStage(zero).optPrecision(precision).build();
        ModelStateBytes m = plan.perGpu();
        long memory = gpuMemory.bytes();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("model            %s: %,d parameters (%s, vocabulary padded to %d for tp %d)%n", model, count.total(),
                ModelVariant.PRETRAINING_MODEL.hfClassName(config), count.vocabSize(), tp);
        out.printf("layout           %d GPUs = tp %d × %sdp %d, ZeRO stage %d, %s%n", gpus, tp, pp > 1 ? "pp " + pp + " × " : "",
                plan.dataParallel(), zero, precision);
        out.printf("Ψ per tp rank    %,d parameters%s%n", count.perTensorParallelRank(),
                pp > 1 ? String.format(", about %,d per pipeline stage", perStage) : "");
        out.printf("parameters       %8.2f GB%n", m.parameters() / 1e9);
        out.printf("gradients        %8.2f GB%n", m.gradients() / 1e9);
        out.printf("optimizer        %8.2f GB%n", m.optimizerStates() / 1e9);
        out.printf("model states     %8.2f GB per GPU (%.2f GiB) of %s: %s%n", m.total() / 1e9, m.total() / (double) (1L << 30),
                gib(gpuMemory), m.fits(memory) ? "fits" : "does NOT fit");
        out.printf("activations      %s%n", a.describe());
        if (precision == TrainingPrecision.FP32 && !sequenceParallel && a.recompute() != ActivationMemory.Recompute.SELECTIVE) {
            // What Tessera's own layers hold on the CPU, measured (ActivationMemoryMeasuredTest); the default GEMM
            // strategy (planned) records separate product nodes, and BERT's batches carry an attention mask.
            TesseraCpuActivations cpu = new TesseraCpuActivations(a, TransformerLayer.gelu(config.hiddenAct()), true,
                    config.hiddenDropout() > 0, config.attentionDropout() > 0, TesseraCpuActivations.Products.SEPARATE_NODES);
            out.printf("on CPU, fp32     %s%n", cpu.describe());
        }
        if (pp > 1) {
            out.printf("bubble           %.4f of the ideal step (%s, %d micro-batches)%n",
                    PipelineSchedule.of(schedule, pp, mb, virtualStages).bubbleFraction(), schedule.flag(), mb);
        }
        out.printf("with activations %8.2f GB per GPU: %s%n", (m.total() + a.bytes()) / 1e9,
                m.total() + a.bytes() <= memory ? "fits" : "does NOT fit");
        out.println("(buffers and fragmentation come on top)");
        out.flush();
        return m.fits(memory) ? 0 : 3;
    }

    private int printBest(PrintWriter out, TransformerConfig config) {
        if (best < 1) {
            throw new IllegalArgumentException("--best " + best + ": must be at least 1");
        }
        int seq = estimate.seq != null ? estimate.seq : config.maxPositions();
        int batch = estimate.globalBatch != null ? estimate.globalBatch : estimate.microBatch * gpus;
        io.tessera.optim.plan.estimate.Cluster cluster = estimate.cluster(gpus);
        estimate.checkGemmShape(config, seq);
        List<BestLayouts.Candidate> all = BestLayouts.search(config, gpus, gpuMemory.bytes(), cluster, estimate.microBatch, batch,
                seq, estimate.recompute, precision, estimate.dpOverlap);
        out.printf("best layouts     %s on %d × %s (%s each), micro-batch %d, global batch %d, seq %d%s, %s: %d of the layouts"
                + " searched fit%n", model, gpus, cluster.name(), gib(gpuMemory), estimate.microBatch, batch, seq,
                estimate.recompute ? ", recompute" : "", precision, all.size());
        if (all.isEmpty()) {
            out.println("none fits: more GPUs, more memory per GPU, --recompute, or a smaller --micro-batch");
            out.flush();
            return 3;
        }
        out.printf("%4s %4s %3s %6s %5s %6s %12s %10s %14s %7s%n", "tp", "pp", "v", "dp", "zero", "m", "GB per GPU", "step s",
                "tokens/s", "MFU");
        for (BestLayouts.Candidate c : all.subList(0, Math.min(best, all.size()))) {
            out.printf("%4d %4d %3d %6d %5d %6d %12.2f %10.3f %,14.0f %6.1f%%%n", c.tp(), c.pp(), c.v(), c.dp(), c.zero(),
                    c.microBatches(), c.memoryBytes() / 1e9, c.estimate().stepSeconds(), c.estimate().tokensPerSecond(),
                    100 * c.estimate().mfu());
        }
        out.println("(memory: model states + the first stage's activations; buffers and fragmentation come on top)");
        out.flush();
        return 0;
    }

    private int printSchedule(PrintWriter out) {
        int m = microBatches != null ? microBatches : 2 * pp;
        PipelineSchedule s = PipelineSchedule.of(schedule, pp, m, virtualStages);
        ScheduleSimulation.Result r = ScheduleSimulation.run(s, 1, 2);
        out.printf("schedule   %s, %d stages, %d micro-batches%s (F = forward, B = backward; micro-batch.chunk)%n",
                schedule.flag(), pp, m, virtualStages > 1 ? ", " + virtualStages + " chunks per stage" : "");
        out.print(s.print());
        out.printf("bubble     %.4f of the ideal step by the formula ((p-1)/%s), %.4f simulated (backward = 2 x forward)%n",
                s.bubbleFraction(), virtualStages > 1 ? "(v*m)" : "m", r.bubbleFraction());
        out.printf("in flight  at most %s micro-batch chunks of activations per stage (stage 0 first)%n",
                java.util.Arrays.toString(r.peakInFlight()));
        out.flush();
        return 0;
    }

    /** Parses {@code --schedule}. */
    static final class ScheduleConverter implements CommandLine.ITypeConverter<ScheduleKind> {
        @Override
        public ScheduleKind convert(String value) {
            return ScheduleKind.parse(value);
        }
    }

    /** @return the size in GiB, without decimals when whole ("32"), else with what was written ("29.80 GiB (32GB)" ) */
    private static String gib(MemorySize size) {
        double g = size.gib();
        return g == Math.rint(g) ? String.format("%.0f GiB", g) : String.format("%.2f GiB (%s)", g, size.text());
    }
}
