package io.tessera.optim.plan.estimate;

/**
 * Predicts the time of one optimizer step of a {@link Layout} on a {@link Cluster}, Megatron-style.
 *
 * <p>Legend: N = t·p·d devices, m = B/(b·d) micro-batches, v chunks per pipeline rank, L layers, h hidden,
 * s sequence, b micro-batch, Ψ parameters, e bytes per element (2 fp16/bf16, 4 fp32), R = peak · achievable,
 * AR/RS/AG/SR the α–β costs of {@link CollectiveCost} on the link the group spans ({@link Cluster#linkFor}).
 *
 * <pre>
 *   F        = flopsPerToken · B·s                          model FLOPs
 *   F_hw     = F · (4/3 with recomputation, else 1)         one more forward in backward
 *   compute  = F_hw / (N · R)
 *   tp       = m · (L/p) · k · AR(e·b·s·h bytes, t)          k = 4 (2 forward + 2 backward), 6 with recomputation
 *   send     = m · v · 2 · SR(e·b·s·h bytes)   if p > 1      activations forward, their gradients back
 *   ideal    = compute + tp + send
 *   bubble   = ideal · (p − 1)/(v·m)
 *   G        = e·Ψ/(t·p) bytes                               gradients of one model-parallel shard
 *   dp       = AR(G, d)                 ZeRO 0, 1
 *            = RS(G, d) + AG(G, d)      ZeRO 2 (gradients scattered, updated fp16 parameters gathered)
 *            = RS(G, d) + 2·AG(G, d)    ZeRO 3 (parameters gathered for forward and again for backward)
 *   exposed  = max(0, dp − φ · backward),  backward = compute · (2/3, or 3/4 with recomputation)
 *   step     = ideal + bubble + exposed
 * </pre>
 *
 * <p>Assumptions: the tp all-reduces and pipeline sends are not overlapped with compute; φ of the
 * backward pass hides data-parallel traffic (0 = the gradients go after backward, as Megatron-LM 2021
 * did); every GEMM runs at the same fraction of the peak; softmax, LayerNorm, optimizer and data loading
 * cost nothing. {@code StepTimeModelTest} checks each line on hand-computed cases.
 *
 * <p>Thread safety: stateless.
 */
public final class StepTimeModel {

    private StepTimeModel() {}

    /**
     * @param layout the model, layout and batch
     * @param cluster the devices and links
     * @return the predicted step, with the weak-scaling efficiency against one replica at B/d
     */
    public static Estimate estimate(Layout layout, Cluster cluster) {
        Estimate full = step(layout, cluster);
        if (layout.dp() == 1) {
            return full.withWeakScaling(1);
        }
        Estimate one = step(layout.withDataParallel(1, layout.globalBatch() / layout.dp()), cluster);
        return full.withWeakScaling(one.stepSeconds() / full.stepSeconds());
    }

    private static Estimate step(Layout l, Cluster c) {
        int n = l.devices();
        int m = l.microBatches();
        int v = l.virtualStages();
        long tokens = (long) l.globalBatch() * l.seq();
        double modelFlops = l.flopsPerToken() * tokens;
        double hardwareFlops = l.recompute() ? modelFlops * 4 / 3 : modelFlops;
        double compute = hardwareFlops / (n * c.sustainedFlops());

        double activationBytes = (double) l.elementBytes() * l.microBatch() * l.seq() * (double) l.hidden();
        int allReducesPerLayer = l.recompute() ? 6 : 4;
        double tp = (double) m * l.layers() / l.pp() * allReducesPerLayer
                * CollectiveCost.allReduce(activationBytes, l.tp(), c.linkFor(l.tp()));
        double send = l.pp() == 1 ? 0
                : (double) m * v * 2 * CollectiveCost.sendRecv(activationBytes, c.linkFor(l.tp() * l.pp()));
        double ideal = compute + tp + send;
        double bubble = ideal * (l.pp() - 1) / ((double) v * m);

        double gradientBytes = (double) l.elementBytes() * l.parameters() / ((double) l.tp() * l.pp());
        Link dpLink = c.linkFor(n);
        double rs = CollectiveCost.reduceScatter(gradientBytes, l.dp(), dpLink);
        double ag = CollectiveCost.allGather(gradientBytes, l.dp(), dpLink);
        double dp = switch (l.zeroStage()) {
            case 0, 1 -> CollectiveCost.allReduce(gradientBytes, l.dp(), dpLink);
            case 2 -> rs + ag;
            default -> rs + 2 * ag;
        };
        double backward = compute * (l.recompute() ? 3.0 / 4 : 2.0 / 3);
        double exposed = Math.max(0, dp - l.dpOverlap() * backward);
        double stepSeconds = ideal + bubble + exposed;
        return new Estimate(compute, tp, send, bubble, dp, exposed, stepSeconds, modelFlops, hardwareFlops, tokens, n,
                c.peakFlops(), 1);
    }
}
