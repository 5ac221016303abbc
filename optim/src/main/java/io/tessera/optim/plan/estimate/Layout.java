package io.tessera.optim.plan.estimate;

import java.util.ArrayList;
import java.util.List;

/**
 * A training layout for the step-time model: the model's size and shape, the parallel degrees and the
 * batch. Ranks are ordered tp fastest, then pp, then dp (Megatron's order), so a tp group spans
 * {@code tp} devices, a pipeline hop crosses a node when {@code tp·pp > gpusPerNode}, and a dp group
 * spans {@code tp·pp·dp} devices.
 *
 * <p>Thread safety: immutable.
 *
 * @param flopsPerToken model training FLOPs per token without recomputation (TransformerFlops.trainingPerToken)
 * @param parameters Ψ, all parameters of the model
 * @param layers L
 * @param hidden h
 * @param seq s
 * @param tp tensor-parallel degree t
 * @param pp pipeline-parallel degree p
 * @param dp data-parallel degree d
 * @param virtualStages v, model chunks per pipeline rank (1 unless interleaved)
 * @param zeroStage 0–3
 * @param microBatch b, sequences per micro-batch
 * @param globalBatch B, sequences per optimizer step over all replicas
 * @param recompute activation recomputation: one more forward in backward
 * @param dpOverlap fraction φ ∈ [0, 1] of the backward pass that hides the data-parallel gradient traffic
 * @param elementBytes e, bytes of one activation or gradient element on the wire: 2 (fp16/bf16 mixed
 *     precision) or 4 (fp32, as Tessera's CPU runs)
 * @param shape heads, MLP width, vocabulary, dropouts and head form for {@link NonGemmWork}, or null when
 *     unknown (then a cluster with {@link OpCosts} is refused: the non-GEMM term cannot be counted)
 */
public record Layout(double flopsPerToken, long parameters, int layers, int hidden, int seq, int tp, int pp, int dp,
                     int virtualStages, int zeroStage, int microBatch, int globalBatch, boolean recompute,
                     double dpOverlap, int elementBytes, LayerShape shape) {

    /** A layout without a {@link LayerShape}: for clusters without op costs (the named GPUs). */
    public Layout(double flopsPerToken, long parameters, int layers, int hidden, int seq, int tp, int pp, int dp,
                  int virtualStages, int zeroStage, int microBatch, int globalBatch, boolean recompute,
                  double dpOverlap, int elementBytes) {
        this(flopsPerToken, parameters, layers, hidden, seq, tp, pp, dp, virtualStages, zeroStage, microBatch,
                globalBatch, recompute, dpOverlap, elementBytes, null);
    }

    /** @throws IllegalArgumentException listing every problem with its value, rule and fix */
    public Layout {
        List<String> p = new ArrayList<>();
        if (!(flopsPerToken > 0) || Double.isInfinite(flopsPerToken)) {
            p.add("flopsPerToken = " + flopsPerToken + " must be positive");
        }
        if (parameters < 1) {
            p.add("parameters = " + parameters + " must be at least 1");
        }
        positive(p, "layers", layers);
        positive(p, "hidden", hidden);
        positive(p, "seq", seq);
        positive(p, "tp", tp);
        positive(p, "pp", pp);
        positive(p, "dp", dp);
        positive(p, "virtualStages", virtualStages);
        positive(p, "microBatch", microBatch);
        positive(p, "globalBatch", globalBatch);
        if (zeroStage < 0 || zeroStage > 3) {
            p.add("zeroStage = " + zeroStage + " must be 0, 1, 2 or 3");
        }
        if (!(dpOverlap >= 0 && dpOverlap <= 1)) {
            p.add("dpOverlap = " + dpOverlap + " must lie in [0, 1]; 0 = gradients sent after backward, 1 = fully hidden");
        }
        if (elementBytes != 2 && elementBytes != 4) {
            p.add("elementBytes = " + elementBytes + " must be 2 (fp16/bf16) or 4 (fp32); plan --estimate sets it"
                    + " from --precision (FP32: 4, MIXED_FP16: 2)");
        }
        if (shape != null && tp > 0 && (shape.heads() % tp != 0 || shape.ffn() % tp != 0 || shape.paddedVocab() % tp != 0)) {
            p.add("heads = " + shape.heads() + ", ffn = " + shape.ffn() + " and paddedVocab = " + shape.paddedVocab()
                    + " must all be divisible by tp = " + tp + "; pick a tp degree dividing them");
        }
        if (pp > 0 && virtualStages > 0 && layers > 0 && layers % (pp * virtualStages) != 0) {
            p.add("layers = " + layers + " is not divisible by pp × virtualStages = " + pp * virtualStages
                    + "; pick degrees dividing the layer count");
        }
        if (microBatch > 0 && dp > 0 && globalBatch > 0 && globalBatch % (microBatch * dp) != 0) {
            p.add("globalBatch = " + globalBatch + " is not a multiple of microBatch × dp = " + microBatch * dp
                    + "; choose a global batch such as " + microBatch * dp * Math.max(1, globalBatch / (microBatch * dp)));
        }
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid layout:\n  - " + String.join("\n  - ", p));
        }
    }

    /** @return devices, {@code t·p·d} */
    public int devices() {
        return tp * pp * dp;
    }

    /** @return micro-batches per step on one pipeline, {@code m = B / (b·d)} */
    public int microBatches() {
        return globalBatch / (microBatch * dp);
    }

    /** @return the same layout with other data-parallel and global-batch sizes */
    public Layout withDataParallel(int newDp, int newGlobalBatch) {
        return new Layout(flopsPerToken, parameters, layers, hidden, seq, tp, pp, newDp, virtualStages, zeroStage,
                microBatch, newGlobalBatch, recompute, dpOverlap, elementBytes, shape);
    }

    private static void positive(List<String> p, String name, int v) {
        if (v < 1) {
            p.add(name + " = " + v + " must be at least 1");
        }
    }
}
