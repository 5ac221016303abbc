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
 *   F_qk     = 12·s·h·L·B·s · (4/3 with recomputation)     the attention's Q·Kᵀ and P·V (NonGemmWork.scoreProductFlops)
 *   compute  = (F_hw − F_qk · [κ_score_products > 0]) / (N · R)   those products move to nonGemm when priced
 *   nonGemm  = m · Σ_c W_c · κ_c                              W_c elements of class c in one micro-batch on one
 *                                                            device (NonGemmWork.perMicroBatch), κ_c seconds per
 *                                                            element (Cluster.opCosts, from bench ops); 0 when
 *                                                            the cluster has no op costs (the named GPUs)
 *   optim    = Σ_c U_c · κ_c                                 U = the optimizer's Ψ/(t·p) (÷ d with ZeRO ≥ 1)
 *                                                            parameters (NonGemmWork.perStep); once per step
 *   tp       = m · (L/p) · k · AR(e·b·s·h bytes, t)          k = 4 (2 forward + 2 backward), 6 with recomputation
 *   send     = m · v · 2 · SR(e·b·s·h bytes)   if p > 1      activations forward, their gradients back
 *   ideal    = compute + nonGemm + tp + send                 the micro-batches' critical path
 *   bubble   = ideal · (p − 1)/(v·m)
 *   G        = e·Ψ/(t·p) bytes                               gradients of one model-parallel shard
 *   dp       = AR(G, d)                 ZeRO 0, 1
 *            = RS(G, d) + AG(G, d)      ZeRO 2 (gradients scattered, updated fp16 parameters gathered)
 *            = RS(G, d) + 2·AG(G, d)    ZeRO 3 (parameters gathered for forward and again for backward)
 *   exposed  = max(0, dp − φ · backward),  backward = (compute + nonGemm) · (2/3, or 3/4 with recomputation)
 *   step     = ideal + bubble + optim + exposed
 * </pre>
 *
 * <p>Assumptions: the tp all-reduces and pipeline sends are not overlapped with compute; φ of the
 * backward pass hides data-parallel traffic (0 = the gradients go after backward, as Megatron-LM 2021
 * did); every GEMM runs at the same fraction of the peak (on a CPU with op costs: every linear layer at the
 * rate bench ops measured, the attention's small batched products priced per score instead); data loading
 * costs nothing. The non-GEMM work
 * is serial with the products (a CPU rank runs one op at a time on all its threads) and shares the
 * backward's window for hiding gradients in the same 2/3 proportion as the products (its backward kernels
 * read the same activations as the forward ones, about twice the work); the optimizer runs after the
 * gradients are reduced, so it hides nothing and is outside the bubble, which scales the per-micro-batch
 * work only. {@code StepTimeModelTest} checks each line on hand-computed cases.
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
        OpCosts costs = c.opCosts();
        if (!costs.isNone() && l.shape() == null) {
            throw new IllegalArgumentException("cluster " + c.name() + " carries op costs (" + costs.source()
                    + ") but the layout has no LayerShape: give heads, ffn and vocabulary so that the non-GEMM work"
                    + " can be counted");
        }
        int n = l.devices();
        int m = l.microBatches();
        int v = l.virtualStages();
        long tokens = (long) l.globalBatch() * l.seq();
        double modelFlops = l.flopsPerToken() * tokens;
        double hardwareFlops = l.recompute() ? modelFlops * 4 / 3 : modelFlops;
        double priced = costs.seconds(OpClass.SCORE_PRODUCTS) > 0 ? NonGemmWork.scoreProductFlops(l) : 0;
        double compute = (hardwareFlops - priced) / (n * c.sustainedFlops());

        double activationBytes = (double) l.elementBytes() * l.microBatch() * l.seq() * (double) l.hidden();
        int allReducesPerLayer = l.recompute() ? 6 : 4;
        double tp = (double) m * l.layers() / l.pp() * allReducesPerLayer
                * CollectiveCost.allReduce(activationBytes, l.tp(), c.linkFor(l.tp()));
        double send = l.pp() == 1 ? 0
                : (double) m * v * 2 * CollectiveCost.sendRecv(activationBytes, c.linkFor(l.tp() * l.pp()));
        double nonGemm = costs.isNone() ? 0 : m * NonGemmWork.seconds(NonGemmWork.perMicroBatch(l, l.shape()), costs);
        double optimizer = costs.isNone() ? 0 : NonGemmWork.seconds(NonGemmWork.perStep(l), costs);
        double ideal = compute + nonGemm + tp + send;
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
        double backward = (compute + nonGemm) * (l.recompute() ? 3.0 / 4 : 2.0 / 3);
        double exposed = Math.max(0, dp - l.dpOverlap() * backward);
        double stepSeconds = ideal + bubble + optimizer + exposed;
        return new Estimate(compute, nonGemm, optimizer, tp, send, bubble, dp, exposed, stepSeconds, modelFlops, hardwareFlops, tokens, n,
                c.peakFlops(), 1);
    }
}
