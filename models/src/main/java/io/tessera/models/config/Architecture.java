package io.tessera.models.config;

/**
 * The Transformer families Tessera builds.
 *
 * <ul>
 *   <li>{@link #BERT}: bidirectional encoder with token-type embeddings, a pooler and the
 *       masked-LM + next-sentence pre-training heads; post-LN (original BERT) or pre-LN
 *       (Megatron-BERT).
 *   <li>{@link #GPT2}: causal decoder, always pre-LN with a final LayerNorm, LM head tied to the
 *       token embedding; no token types, no pooler.
 *   <li>{@link #ROBERTA}: BERT's post-LN encoder with one token type, position ids that start after
 *       the padding id, and a masked-LM head only (no next-sentence objective).
 *   <li>{@link #DISTILBERT}: a post-LN encoder without token types or pooler, with a masked-LM head;
 *       its own Hugging Face names ({@code q_lin}, {@code sa_layer_norm}, {@code ffn.lin1}, ...).
 *   <li>{@link #ALBERT}: BERT's post-LN encoder with a factorised embedding (width E, mapped to H)
 *       and layers shared across depth, masked-LM + sentence-order pre-training heads.
 * </ul>
 *
 * <p>Thread safety: immutable enum, safe to share.
 */
public enum Architecture {
    /** BERT (Devlin et al., 2019) and Megatron-BERT (Shoeybi et al., 2019). */
    BERT,
    /** GPT-2 (Radford et al., 2019), Megatron GPT-2 and Turing-NLG. */
    GPT2,
    /** RoBERTa (Liu et al., 2019, arXiv:1907.11692). */
    ROBERTA,
    /** DistilBERT (Sanh et al., 2019, arXiv:1910.01108). */
    DISTILBERT,
    /** ALBERT (Lan et al., 2020): factorised embedding, cross-layer parameter sharing. */
    ALBERT
}
