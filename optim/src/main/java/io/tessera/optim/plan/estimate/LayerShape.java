package io.tessera.optim.plan.estimate;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@link NonGemmWork} needs of the architecture beyond {@link Layout}: heads, MLP width, the padded
 * vocabulary, which dropouts run, whether attention adds a mask, and the head's form.
 *
 * <p>Thread safety: immutable.
 *
 * @param heads A, attention heads (all ranks)
 * @param ffn f, MLP inner width (all ranks)
 * @param paddedVocab V', the vocabulary as allocated (padded so that it splits over tp)
 * @param attentionDropout whether dropout runs on the attention probabilities (p &gt; 0)
 * @param hiddenDropout whether dropout runs on the embeddings and both residual branches (p &gt; 0)
 * @param attentionMask whether the scores get an additive mask (BERT's padding mask, GPT-2's causal one)
 * @param mlmTransform BERT's MLM head (dense, GELU, LayerNorm, then the decoder with a bias over V');
 *     false for GPT-2's (a final LayerNorm, then the decoder without bias)
 */
public record LayerShape(int heads, int ffn, int paddedVocab, boolean attentionDropout, boolean hiddenDropout,
                         boolean attentionMask, boolean mlmTransform) {

    /** @throws IllegalArgumentException listing each value that is not positive */
    public LayerShape {
        List<String> p = new ArrayList<>();
        if (heads < 1) {
            p.add("heads = " + heads + " must be at least 1");
        }
        if (ffn < 1) {
            p.add("ffn = " + ffn + " must be at least 1");
        }
        if (paddedVocab < 1) {
            p.add("paddedVocab = " + paddedVocab + " must be at least 1");
        }
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid layer shape:\n  - " + String.join("\n  - ", p));
        }
    }
}
