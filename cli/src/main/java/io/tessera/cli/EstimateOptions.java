package io.tessera.cli;

import io.tessera.benchmarks.ceiling.OpsReport;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.optim.plan.TrainingPrecision;
import io.tessera.optim.plan.estimate.Cluster;
import io.tessera.optim.plan.estimate.Estimate;
import io.tessera.optim.plan.estimate.LayerShape;
import io.tessera.optim.plan.estimate.Layout;
import io.tessera.optim.plan.estimate.Link;
import io.tessera.optim.plan.estimate.NonGemmWork;
import io.tessera.optim.plan.estimate.OpClass;
import io.tessera.optim.plan.estimate.OpCosts;
import io.tessera.optim.plan.estimate.StepTimeModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The flags of {@code tessera plan --estimate}: the cluster ({@code --gpu} or explicit figures) and the
 * batch; turns them into a {@link Cluster} and a {@link Layout} and prints {@link StepTimeModel}'s
 * prediction.
 *
 * <p>{@code --gpu cpu} predicts a run of this host's local processes ({@link Cluster#cpu}): it has no
 * published figures, so it needs {@code --intra-node-gbps} (the measured all-reduce bus bandwidth) and
 * the non-GEMM costs per element, from {@code --ops-json FILE} ({@code bin/tessera bench ops --threads T
 * --json FILE}, T one rank's threads) or {@code --op-cost CLASS=NS}. Its GEMM rate is {@code --peak-tflops}
 * when given, else the rate {@code bench ops} measured for the layers' products on Tessera's GEMM strategy
 * (the file must then be for the same model, layers, micro-batch and sequence).
 * {@code benchmarks/estimate/run.sh} measures all of them and compares the prediction with
 * {@code bench step} and {@code bench scaling}. The named GPUs carry no op costs (the non-GEMM term is 0)
 * unless {@code --ops-json} or {@code --op-cost} give them.
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

    @Option(names = "--ops-json", description = "Non-GEMM costs per element and the layers' GEMM rate, written by"
            + " bin/tessera bench ops --threads T --json FILE (required for --gpu cpu unless --op-cost gives the costs).")
    Path opsJson;

    @Option(names = "--op-cost", description = "CLASS=NS: nanoseconds per element of a non-GEMM op class (repeatable;"
            + " replaces the --ops-json figure). Classes: add, bias, scale, mask, softmax, dropout, gelu, layer_norm, heads,"
            + " cross_entropy, embedding, adamw.")
    Map<String, Double> opCost;

    private OpsReport opsReport;

    @Option(names = "--dp-overlap", description = "Fraction of backward that hides the data-parallel traffic, 0-1."
            + " Default: ${DEFAULT-VALUE}.")
    double dpOverlap;

    /** @return the cluster: the {@code --gpu} figures with each explicit flag replacing its own */
    Cluster cluster(int gpus) {
        OpCosts costs = opCosts();
        if (gpu != null && gpu.trim().equalsIgnoreCase("cpu")) {
            OpsReport.Gemm measured = ops() == null ? null : ops().gemm();
            if (intraNodeGBps == null || costs.isNone() || (peakTflops == null && measured == null)) {
                throw new IllegalArgumentException("--gpu cpu has no published figures: give --intra-node-gbps (the all-reduce"
                        + " bus bandwidth, from bin/tessera bench collectives), --ops-json FILE (the non-GEMM costs per element"
                        + " and the layers' GEMM rate, from bin/tessera bench ops --threads T --json FILE, T one rank's threads)"
                        + " or --op-cost CLASS=NS with --peak-tflops (the fp32 GEMM rate of one rank's threads);"
                        + " benchmarks/estimate/run.sh measures them all" + missing(costs, measured));
            }
            double alpha = latencyUs != null ? latencyUs * 1e-6 : Cluster.DEFAULT_LATENCY;
            double peak = peakTflops != null ? peakTflops * 1e12 : measured.gflops() * 1e9;
            Cluster c = Cluster.cpu(peak, gpus, new Link(alpha, intraNodeGBps * 1e9), costs);
            return achievable == null ? c
                    : new Cluster(c.name(), c.peakFlops(), achievable, c.gpusPerNode(), c.intraNode(), c.interNode(), costs);
        }
        double a = achievable != null ? achievable : 0.6;
        Cluster base = Cluster.of(gpu, a);
        double alpha = latencyUs != null ? latencyUs * 1e-6 : base.intraNode().latencySeconds();
        return new Cluster(peakTflops != null || intraNodeGBps != null || interNodeGBps != null ? "custom" : base.name(),
                peakTflops != null ? peakTflops * 1e12 : base.peakFlops(), a,
                gpusPerNode != null ? gpusPerNode : base.gpusPerNode(),
                new Link(alpha, intraNodeGBps != null ? intraNodeGBps * 1e9 : base.intraNode().bytesPerSecond()),
                new Link(alpha, interNodeGBps != null ? interNodeGBps * 1e9 : base.interNode().bytesPerSecond()), costs);
    }

    private String missing(OpCosts costs, OpsReport.Gemm measured) {
        java.util.List<String> m = new java.util.ArrayList<>();
        if (intraNodeGBps == null) {
            m.add("--intra-node-gbps");
        }
        if (costs.isNone()) {
            m.add("--ops-json or --op-cost");
        }
        if (peakTflops == null && measured == null) {
            m.add(opsJson == null ? "--peak-tflops (or --ops-json)" : "--peak-tflops (" + opsJson + " has no GEMM rate: it was"
                    + " written with --no-gemm)");
        }
        return " (missing: " + String.join("; ", m) + ")";
    }

    /** @return the report of {@code --ops-json}, read once, or null */
    private OpsReport ops() {
        if (opsJson != null && opsReport == null) {
            try {
                opsReport = OpsReport.read(opsJson);
            } catch (IOException e) {
                throw new UncheckedIOException("--ops-json " + opsJson + " cannot be read: " + e.getMessage()
                        + "; write it with bin/tessera bench ops --json FILE", e);
            }
        }
        return opsReport;
    }

    /** @return the costs of {@code --ops-json} with each {@code --op-cost} replacing its class; NONE without both */
    OpCosts opCosts() {
        OpsReport r = ops();
        EnumMap<OpClass, Double> m = new EnumMap<>(OpClass.class);
        if (r != null) {
            m.putAll(r.costs(opsJson.toString()).secondsPerElement());
        }
        if (opCost != null) {
            opCost.forEach((k, ns) -> m.put(OpClass.ofKey(k), ns * 1e-9));
        }
        if (m.isEmpty()) {
            return OpCosts.NONE;
        }
        String source = r == null ? "--op-cost" : opCost == null ? opsJson.toString() : opsJson + " and --op-cost";
        return new OpCosts(m, source);
    }

    /**
     * The GEMM rate of {@code --ops-json} was measured on one model shape; it is refused for another.
     *
     * @throws IllegalArgumentException naming both shapes and the fix
     */
    void checkGemmShape(TransformerConfig config, int s) {
        OpsReport r = ops();
        if (r == null || r.gemm() == null || peakTflops != null || gpu == null || !gpu.trim().equalsIgnoreCase("cpu")) {
            return;
        }
        OpsReport.Shape m = r.shape();
        if (m.layers() != config.numLayers() || m.batch() != microBatch || m.seq() != s || m.hidden() != config.hiddenSize()
                || m.ffn() != config.intermediateSize()) {
            throw new IllegalArgumentException("--ops-json " + opsJson + " measured the GEMM rate for " + m.label() + " (h "
                    + m.hidden() + ", f " + m.ffn() + "); this estimate is for L" + config.numLayers() + " b" + microBatch + " s" + s
                    + " (h " + config.hiddenSize() + ", f " + config.intermediateSize() + "): rerun bin/tessera bench ops with the"
                    + " same --model, --layers, --batch (= --micro-batch) and --seq, or give --peak-tflops");
        }
    }

    /**
     * @param config the model
     * @param tp the tensor-parallel degree (pads the vocabulary)
     * @return what the non-GEMM count needs of the architecture; every batch carries an attention mask
     *     (BERT's padding mask, GPT-2's causal one)
     */
    static LayerShape layerShape(TransformerConfig config, int tp) {
        return new LayerShape(config.numHeads(), config.intermediateSize(), config.paddedVocabSize(tp),
                config.attentionDropout() > 0, config.hiddenDropout() > 0, true, config.architecture() != Architecture.GPT2);
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
                zero, microBatch, batch, recompute, dpOverlap, precision.gradientBytes(), layerShape(config, tp));
        Cluster c = cluster(gpus);
        checkGemmShape(config, s);
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
        if (!c.opCosts().isNone()) {
            out.printf("op costs         %s%s%n", c.opCosts().source(), peakTflops == null && c.name().equals("cpu")
                    ? String.format(" (GEMM rate %.1f GFLOP/s: the layers' products on Tessera's %s strategy)",
                    c.peakFlops() / 1e9, ops().gemm().strategy()) : "");
        }
        out.printf("compute          %10.4f s%n", e.computeSeconds());
        out.printf("non-GEMM         %10.4f s (softmax, LayerNorm, GELU, dropout, biases, adds, cross-entropy, embedding"
                + " gradient%s)%n", e.nonGemmSeconds(), c.opCosts().isNone() ? "; no op costs: 0" : "");
        if (!c.opCosts().isNone()) {
            StringBuilder by = new StringBuilder();
            Map<OpClass, Double> perMicroBatch = NonGemmWork.perMicroBatch(layout, layout.shape());
            for (OpClass k : OpClass.values()) {
                double sec = k == OpClass.ADAMW ? e.optimizerSeconds()
                        : layout.microBatches() * perMicroBatch.getOrDefault(k, 0.0) * c.opCosts().seconds(k);
                if (sec > 0) {
                    by.append(by.length() == 0 ? "" : ", ").append(String.format("%s %.3f", k.key(), sec));
                }
            }
            out.printf("  by class       %s s%n", by);
        }
        out.printf("optimizer        %10.4f s (AdamW over the rank's parameters)%n", e.optimizerSeconds());
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
