package io.tessera.optim.plan.estimate;

import java.util.Locale;

/**
 * The classes of non-GEMM work in a Tessera training step, each priced per element by
 * {@code bin/tessera bench ops} (forward and backward together, where the op has a backward) with the
 * libtorch call Tessera's layers make. {@link NonGemmWork} counts the elements of each class in a step.
 *
 * <pre>
 *   class          Tessera's operation (where)                                        one element
 *   add            a.add(b), a new tensor: residual adds, embedding sums,              one output element
 *                  BiasDropoutAdd's y + b, and the tape's cotangent accumulation
 *                  of an input read by several nodes (Var); no backward
 *   bias           y.addi(b) forward, Σ_rows dy backward (LinearFunction)              one output element
 *   accumulate     p.grad().addi(g): a parameter's gradient added into the flat        one element
 *                  buffer (ParameterAccess.DIRECT), timed on the word embedding's
 *                  [V', h]
 *   score_products the attention's batched products Q·Kᵀ and P·V (matMul on           one attention score
 *                  contiguous [B·A, s, D], libtorch's bmm), autograd (attend); when
 *                  priced, their FLOPs leave the compute term
 *   scale          scores / √D, autograd (ParallelSelfAttention.attend)               one attention score
 *   mask           scores + M, M [B,1,1,T], autograd (attend)                         one attention score
 *   softmax        softmax over the last axis, autograd (attend)                      one attention score
 *   dropout        JniUtils.dropout(p 0.1, training), autograd (Dropout)               one element
 *   gelu           JniUtils.gelu, autograd (Gelu.EXACT)                                one element
 *   layer_norm     JniUtils.layerNorm over h with weight and bias, autograd            one element
 *   heads          [B,T,C] → [B,A,T,D] → [B·A,T,D] contiguous, autograd: the copy      one element of [B,T,C]
 *                  libtorch's matmul makes of a head-split view (attend)
 *   cross_entropy  VocabParallelCrossEntropy forward and backward                      one logit
 *   embedding      JniUtils.embedding backward: a zeroed [V, h] gradient and           one table element
 *                  an index-add of the looked-up rows (VocabParallelEmbedding)
 *   adamw          DataParallelOptimizer.step: gradient norm, clipping, AdamW          one parameter
 *                  update (optim/zero, AdamW)
 * </pre>
 *
 * <p>Thread safety: immutable enum.
 */
public enum OpClass {
    ADD, BIAS, ACCUMULATE, SCORE_PRODUCTS, SCALE, MASK, SOFTMAX, DROPOUT, GELU, LAYER_NORM, HEADS, CROSS_ENTROPY, EMBEDDING, ADAMW;

    /** @return the name in JSON and tables: lower case, e.g. {@code layer_norm} */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param key a {@link #key()}, any case
     * @return the class
     * @throws IllegalArgumentException naming the key and the known ones
     */
    public static OpClass ofKey(String key) {
        for (OpClass c : values()) {
            if (c.key().equalsIgnoreCase(key == null ? "" : key.trim())) {
                return c;
            }
        }
        StringBuilder known = new StringBuilder();
        for (OpClass c : values()) {
            known.append(known.length() == 0 ? "" : ", ").append(c.key());
        }
        throw new IllegalArgumentException("unknown op class \"" + key + "\"; known: " + known);
    }
}
