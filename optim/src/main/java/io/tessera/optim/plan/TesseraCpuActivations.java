package io.tessera.optim.plan;

import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.optim.plan.ActivationMemory.Recompute;
import io.tessera.parallel.tensor.Gelu;
import java.util.Locale;
import java.util.Objects;

/**
 * Activation memory that Tessera's own layers hold for backward with fp32 activations on the CPU, per
 * rank: the tensors its tape really keeps, term by term, checked against resident memory within 2%
 * ({@code ActivationMemoryMeasuredTest} in {@code train}), instead of the 16-bit GPU kernels that
 * {@link ActivationMemory} (Korthikanti et al. 2022) assumes. The pipeline part, how many
 * layer-micro-batches a stage holds, is {@link ActivationMemory#layersHeld()}.
 *
 * <p>Why it differs from the paper's {@code s·b·h·(34 + 5·a·s/h)}, which at 4 bytes per activation and
 * 4-byte masks would be {@code 4·s·b·h·(18 + 3·a·s/h)}: a tape node keeps <em>every</em> tensor its ops
 * create (they live in the node's scratch scope until its backward), not only what autograd saves; the
 * CPU dropout ({@code at::dropout}) keeps an fp32 mask, not a 1-byte one; {@code at::matmul} copies the
 * head-split (transposed) Q, K and V and the context; and at degree t &gt; 1 each all-reduce returns a
 * new tensor. With {@code U = 4·s·b·h} bytes, {@code r = a·s/h}, {@code g} the tensors of the GELU
 * (1 exact: one fused kernel; 8 tanh: its eight element-wise ops) and {@code [x]} 1 when x holds:
 *
 * <pre>
 *   keep everything (recompute none), per layer and micro-batch
 *     U · (8 + 2·[t&gt;1] + (P + 4·g)/t)                     [s,b,h]-sized tensors
 *   + U · r/t · (3 + [mask])                               scores [b, a/t, s, s]: Q·Kᵀ, /√D, (+ M), softmax
 *   + U · 4 · [hidden dropout] + U · r/t · 2 · [attention dropout]   each dropout: its output and fp32 mask
 *
 *     8 = the attention's and the MLP's output products (before bias) and, twice, bias sum, residual sum
 *         and LayerNorm output
 *     P = 19 with libtorch's products inside the blocks' autograd nodes: Q, K, V products and their
 *         bias sums (6), the head-split copies of Q, K, V (3), P·V and its [s,b,h] copy (2), the first
 *         MLP product and its bias sum (8)
 *     P = 12 with separate product nodes (OpenBLAS, planned, measured): the bias is added in place
 *
 *   Tessera's activation checkpointing (recompute full): the attention and MLP nodes keep their inputs
 *     U · (8 + 2·[t&gt;1]) + U · 4/t · [separate products] + U · 4 · [hidden dropout]
 *     (with separate products, the Q, K, V products and the context [s, b, h/t] that enters the output
 *     product are outputs of nodes outside the recomputed attention node, so they are kept)
 * </pre>
 * Not covered: selective recomputation (Tessera has none), sequence parallelism and fp16 activations
 * (not measured); the constructor refuses them.
 *
 * <p>Thread safety: immutable.
 *
 * @param shape sizes, degree, pipeline and recomputation ({@code NONE} or {@code FULL})
 * @param gelu the MLP's activation
 * @param maskAdded whether an additive attention mask is applied (causal, or any padding mask passed)
 * @param hiddenDropout whether hidden dropout is active (p &gt; 0 and training)
 * @param attentionDropout whether attention-probability dropout is active
 * @param products where the layers' fp32 products run
 */
public record TesseraCpuActivations(ActivationMemory shape, Gelu gelu, boolean maskAdded, boolean hiddenDropout,
                                    boolean attentionDropout, Products products) {

    /** Where the linear layers' products run, which decides which of their tensors a node keeps. */
    public enum Products {
        /** libtorch's products inside the blocks' autograd nodes (GEMM strategy {@code libtorch}) */
        LIBTORCH_NODES,
        /** one node per product with a hand-written backward (GEMM strategy {@code openblas}, {@code planned}, {@code measured}) */
        SEPARATE_NODES;

        /**
         * @param gemm the tape's GEMM strategy
         * @return where that strategy puts fp32 CPU products
         */
        public static Products of(Gemm gemm) {
            return Gemms.isLibtorch(Objects.requireNonNull(gemm, "gemm")) ? LIBTORCH_NODES : SEPARATE_NODES;
        }
    }

    /**
     * @throws IllegalArgumentException for selective recomputation or sequence parallelism, which this
     *     accounting does not cover
     */
    public TesseraCpuActivations {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(gelu, "gelu");
        Objects.requireNonNull(products, "products");
        if (shape.recompute() == Recompute.SELECTIVE) {
            throw new IllegalArgumentException("--recompute-activations selective: Tessera has no selective recomputation; its"
                    + " checkpointing recomputes whole attention and MLP blocks (use full) or nothing (none)");
        }
        if (shape.sequenceParallel()) {
            throw new IllegalArgumentException("--sequence-parallel: the Tessera CPU fp32 accounting was measured without sequence"
                    + " parallelism; use the Korthikanti et al. estimate (ActivationMemory) or drop --sequence-parallel");
        }
    }

    /** @return bytes of one layer's activations for one micro-batch on one rank */
    public double perLayerBytes() {
        double u = 4.0 * shape.seq() * shape.microBatch() * shape.hidden();
        double t = shape.tensorParallel();
        double r = (double) shape.heads() * shape.seq() / shape.hidden();
        double reduced = t > 1 ? 2 : 0;
        double hiddenDrop = hiddenDropout ? 4 : 0;
        boolean separate = products == Products.SEPARATE_NODES;
        if (shape.recompute() == Recompute.FULL) {
            return u * (8 + reduced + (separate ? 4 / t : 0) + hiddenDrop);
        }
        double geluTensors = gelu == Gelu.EXACT ? 1 : 8;
        double p = separate ? 12 : 19;
        double streams = 8 + reduced + (p + 4 * geluTensors) / t;
        double scores = r / t * (3 + (maskAdded ? 1 : 0) + (attentionDropout ? 2 : 0));
        return u * (streams + scores + hiddenDrop);
    }

    /** @return activation bytes per rank at the peak of the first pipeline stage */
    public double bytes() {
        return perLayerBytes() * shape.layersHeld();
    }

    /** @return one line for {@code plan}: the total, the per-layer figure and what it assumes */
    public String describe() {
        return String.format(Locale.ROOT, "%8.2f GB per rank (Tessera CPU fp32, measured accounting; %.1f MB per layer and"
                        + " micro-batch × %.1f held, %s, %s GELU, %s)", bytes() / 1e9, perLayerBytes() / 1e6, shape.layersHeld(),
                shape.recompute() == Recompute.FULL ? "checkpointed blocks" : "no recomputation",
                gelu.name().toLowerCase(Locale.ROOT), products == Products.LIBTORCH_NODES ? "libtorch products" : "separate product nodes");
    }
}
