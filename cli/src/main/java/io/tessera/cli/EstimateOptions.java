package io.tessera.cli;

import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.optim.plan.TrainingPrecision;
import io.tessera.optim.plan.estimate.Cluster;
import io.tessera.optim.plan.estimate.Estimate;
import io.tessera.optim.plan.estimate.Layout;
import io.tessera.optim.plan.estimate.Link;
import io.tessera.optim.plan.estimate.StepTimeModel;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/**
 * The flags of {@code tessera plan --estimate}: the cluster ({@code --gpu} or explicit figures) and the
 * batch; turns them into a {@link Cluster} and a {@link Layout} and prints {@link StepTimeModel}'s
 * prediction.
 *
 * <p>{@code --gpu cpu} predicts a run of this host's local processes ({@link Cluster#cpu}): it has no
 * published figures, so it needs {@code --peak-tflops} (the fp32 ceiling measured with one rank's
 * threads) and {@code --intra-node-gbps} (the measured all-reduce bus bandwidth);
 * {@code benchmarks/estimate/run.sh} measures both and compares the prediction with {@code bench step}
 * and {@code bench scaling}.
 *
 * <p>Thread safety: picocli fills it once; not shared.
 */
final class EstimateOptions {

    @Option(names = "--estimate", description = "Predict step time, MFU, tokens/s and weak-scaling efficiency.")
    boolean estimate;

    @Option(names = "--gpu", description = "v100, a100 or h100 (published peaks and links), or cpu (measured figures:"
            + " needs --peak-tflops and --intra-node-gbps). Default: ${DEFAULT-VALUE}.")
    String gpu = "a100";

    @Option(names = "--peak-tflops", description = "Peak dense TFLOP/s per device (overrides --gpu).")
    Double peakTflops;

    @Option(names = "--achievable", description = "Fraction of the peak a GEMM reaches. Default: 0.6; 1 for --gpu cpu"
            + " (its peak is a measured ceiling).")
    Double achievable;

    @Option(names = "--intra-node-gbps", description = "GB/s per device, one direction, inside a node (overrides --gpu).")
    Double intraNodeGBps;

    @Option(names = "--inter-node-gbps", description = "GB/s per device between nodes (overrides --gpu).")
    Double interNodeGBps;

    @Option(names = "--gpus-per-node", description = "Devices per node (overrides --gpu's 8).")
    Integer gpusPerNode;

    @Option(names = "--latency-us", description = "Latency per message, microseconds (overrides 5).")
    Double latencyUs;

    @Option(names = "--micro-batch", description = "Sequences per micro-batch. Default: ${DEFAULT-VALUE}.")
    int microBatch = 1;

    @Option(names = "--global-batch", description = "Sequences per step. Default: micro-batch × dp × micro-batches.")
    Integer globalBatch;

    @Option(names = {"--seq", "--seq-length"}, description = "Sequence length. Default: the model's positions.")
    Integer seq;

    @Option(names = "--layers", description = "Layer count in place of the model's (as bench step --layers).")
    Integer layers;

    @Option(names = "--recompute", description = "Activation recomputation (one more forward in backward).")
    boolean recompute;

    @Option(names = "--dp-overlap", description = "Fraction of backward that hides the data-parallel traffic, 0-1."
            + " Default: ${DEFAULT-VALUE}.")
    double dpOverlap;

    /** @return the cluster: the {@code --gpu} figures with each explicit flag replacing its own */
    Cluster cluster(int gpus) {
        if (gpu != null && gpu.trim().equalsIgnoreCase("cpu")) {
            if (peakTflops == null || intraNodeGBps == null) {
                throw new IllegalArgumentException("--gpu cpu has no published figures: give --peak-tflops (the fp32"
                        + " ceiling of one rank's threads, from bin/tessera bench ceiling --threads T) and --intra-node-gbps"
                        + " (the all-reduce bus bandwidth, from bin/tessera bench collectives); benchmarks/estimate/run.sh"
                        + " measures both");
            }
            double alpha = latencyUs != null ? latencyUs * 1e-6 : Cluster.DEFAULT_LATENCY;
            Cluster c = Cluster.cpu(peakTflops * 1e12, gpus, new Link(alpha, intraNodeGBps * 1e9));
            return achievable == null ? c
                    : new Cluster(c.name(), c.peakFlops(), achievable, c.gpusPerNode(), c.intraNode(), c.interNode());
        }
        double a = achievable != null ? achievable : 0.6;
        Cluster base = Cluster.of(gpu, a);
        double alpha = latencyUs != null ? latencyUs * 1e-6 : base.intraNode().latencySeconds();
        return new Cluster(peakTflops != null || intraNodeGBps != null || interNodeGBps != null ? "custom" : base.name(),
                peakTflops != null ? peakTflops * 1e12 : base.peakFlops(), a,
                gpusPerNode != null ? gpusPerNode : base.gpusPerNode(),
                new Link(alpha, intraNodeGBps != null ? intraNodeGBps * 1e9 : base.intraNode().bytesPerSecond()),
                new Link(alpha, interNodeGBps != null ? interNodeGBps * 1e9 : base.interNode().bytesPerSecond()));
    }

    /**
     * Prints the prediction.
     *
     * @param precision the wire size of activations and gradients: 2 bytes (mixed fp16) or 4 (fp32)
     * @return 0
     */
    int print(PrintWriter out, TransformerConfig model, int gpus, int tp, int pp, int virtualStages, int zero,
            Integer microBatches, TrainingPrecision precision) {
        TransformerConfig config = layers == null ? model : model.toBuilder().setNumLayers(layers).build();
        if (gpus % (tp * pp) != 0) {
            throw new IllegalArgumentException("--gpus = " + gpus + " is not a multiple of tp × pp = " + tp * pp
                    + "; pick --gpus as dp × tp × pp");
        }
        int dp = gpus / (tp * pp);
        int s = seq != null ? seq : config.maxPositions();
        int m = microBatches != null ? microBatches : pp > 1 ? 2 * pp : 1;
        int batch = globalBatch != null ? globalBatch : microBatch * dp * m;
        long params = ParameterCount.ofPaddedVocab(config, ModelVariant.PRETRAINING_MODEL, tp).total();
        double perToken = TransformerFlops.trainingPerToken(ModelShape.of(config, 1, s));
        Layout layout = new Layout(perToken, params, config.numLayers(), config.hiddenSize(), s, tp, pp, dp, virtualStages,
                zero, microBatch, batch, recompute, dpOverlap, precision.gradientBytes());
        Cluster c = cluster(gpus);
        Estimate e = StepTimeModel.estimate(layout, c);
        out.printf("cluster          %s: %.3g TFLOP/s peak × %.2f achievable, %d per node, intra %.1f GB/s, inter %.1f GB/s,"
                + " α %.1f µs%n", c.name(), c.peakFlops() / 1e12, c.achievable(), c.gpusPerNode(),
                c.intraNode().bytesPerSecond() / 1e9, c.interNode().bytesPerSecond() / 1e9, c.intraNode().latencySeconds() * 1e6);
        out.printf("layout           %d GPUs = tp %d × pp %d × dp %d, ZeRO %d, micro-batch %d, global batch %d, seq %d,"
                + " %d micro-batches%s%s, %s (%d bytes per element)%n", gpus, tp, pp, dp, zero, microBatch, batch, s,
                layout.microBatches(), virtualStages > 1 ? ", " + virtualStages + " chunks" : "", recompute ? ", recompute" : "",
                precision, precision.gradientBytes());
        out.printf("FLOPs per token  %.4g (model, no recomputation); %,d parameters, %d layers%n", perToken, params,
                config.numLayers());
        out.printf("compute          %10.4f s%n", e.computeSeconds());
        out.printf("tp all-reduce    %10.4f s%n", e.tensorParallelSeconds());
        out.printf("pp send/recv     %10.4f s%n", e.pipelineSendSeconds());
        out.printf("pp bubble        %10.4f s%n", e.bubbleSeconds());
        out.printf("dp gradients     %10.4f s (%.4f s exposed, overlap %.2f of backward)%n", e.dataParallelSeconds(),
                e.dataParallelExposedSeconds(), dpOverlap);
        out.printf("step time        %10.4f s%n", e.stepSeconds());
        out.printf("tokens/s         %,.0f%n", e.tokensPerSecond());
        out.printf("TFLOP/s per GPU  %.4g model, %.4g executed (recomputation counted)%n", e.modelTflopsPerDevice(),
                e.hardwareTflopsPerDevice());
        out.printf("MFU              %.1f%%%n", 100 * e.mfu());
        out.printf("weak scaling     %.1f%% (one replica at global batch / dp = 1)%n", 100 * e.weakScalingEfficiency());
        out.flush();
        return 0;
    }
}
