package io.tessera.models.config;

import java.util.Locale;
import java.util.Objects;

/**
 * The exact number of trainable parameters of a configuration, per component, following the tensors
 * of Hugging Face's model classes (see {@link ModelVariant}). Tied weights are counted once.
 *
 * <p>With V vocabulary (unpadded, or padded by {@link TransformerConfig#paddedVocabSize(int)} with
 * {@link #ofPaddedVocab}), H hidden, L layers, I MLP inner size, P positions, T token types:
 *
 * <pre>
 * embeddings     = V·H + P·H + T·H          (T = 0 for GPT-2 and DistilBERT, 1 for RoBERTa)
 *                  + 2H                      (embedding LayerNorm: post-LN BERT, RoBERTa, DistilBERT)
 * per layer      = attention  4H² + 4H       (Q, K, V and output projections with biases;
 *                                             GPT-2's fused c_attn + c_proj is the same count)
 *                + MLP        2·H·I + I + H  (two linear layers with biases)
 *                + LayerNorms 4H             (two, weight and bias each)
 * final LN       = 2H                        (GPT-2 and pre-LN BERT; post-LN encoders have none)
 * pooler         = H² + H                    (BERT, and RobertaModel; not RobertaForMaskedLM, not DistilBERT)
 * heads (PRETRAINING_MODEL, encoders only):
 *   MLM transform  H² + H + 2H               (dense + LayerNorm; RoBERTa lm_head, DistilBERT vocab_*)
 *   MLM decoder    V                          (bias only: the weight is tied to the token embedding)
 *   NSP classifier 2H + 2                     (BERT only)
 * GPT-2's LM head is tied to the token embedding and has no bias: 0.
 *
 * total = embeddings + L·perLayer + finalLN + pooler + heads
 * </pre>
 *
 * <p>ALBERT: E replaces H in the three embeddings, the embedding LayerNorm (2E) and the MLM transform
 * (H·E + E + 2E); {@code embedding_hidden_mapping_in} adds E·H + H; the layers count
 * numHiddenGroups · innerGroupNum times, not L, since a shared layer is one set of parameters
 * ({@code albert-base-v2} {@code AlbertModel}: 11,683,584).
 *
 * <p>Pre-LN BERT (Megatron-BERT) moves the embedding LayerNorm to a final LayerNorm, so its total
 * equals post-LN BERT's. Checked against Hugging Face: {@code gpt2} 124,439,808, {@code bert-base-uncased}
 * {@code BertModel} 109,482,240, {@code roberta-base} {@code RobertaModel} 124,645,632,
 * {@code distilbert-base-uncased} {@code DistilBertModel} 66,362,880 (the tests hold the full list).
 *
 * <p>Per tensor-parallel rank ({@link #perTensorParallelRank()}), Megatron's layout is counted exactly:
 * the token embedding and MLM decoder bias are split over the vocabulary, Q/K/V and the first MLP
 * layer (weights and biases) are column-parallel, the attention output and second MLP weights are
 * row-parallel; position and token-type embeddings, every LayerNorm, the two row-parallel biases, the
 * pooler, the MLM transform and the NSP classifier are replicated on every rank.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class ParameterCount {

    private final TransformerConfig config;
    private final ModelVariant variant;
    private final int vocabSize;
    private final int tensorParallel;

    private ParameterCount(TransformerConfig config, ModelVariant variant, int vocabSize, int tensorParallel) {
        this.config = config;
        this.variant = variant;
        this.vocabSize = vocabSize;
        this.tensorParallel = tensorParallel;
    }

    /**
     * Counts with the unpadded vocabulary, as a Hugging Face checkpoint holds it.
     *
     * @param config the model configuration
     * @param variant base model or pre-training model
     * @return the count; {@link #tensorParallel()} is 1
     */
    public static ParameterCount of(TransformerConfig config, ModelVariant variant) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(variant, "variant");
        return new ParameterCount(config, variant, config.vocabSize(), 1);
    }

    /**
     * Counts with the vocabulary padded for {@code tensorParallel} ranks, as Megatron-LM allocates it
     * ({@link TransformerConfig#paddedVocabSize(int)}), after checking that the model splits over that
     * many ranks ({@link TransformerConfig#validateFor(int)}).
     *
     * @param config the model configuration
     * @param variant base model or pre-training model
     * @param tensorParallel the tensor-parallel degree
     * @return the count over all ranks, with {@link #perTensorParallelRank()} for one rank
     * @throws IllegalArgumentException if the model does not split over {@code tensorParallel} ranks
     */
    public static ParameterCount ofPaddedVocab(TransformerConfig config, ModelVariant variant, int tensorParallel) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(variant, "variant");
        config.validateFor(tensorParallel);
        return new ParameterCount(config, variant, config.paddedVocabSize(tensorParallel), tensorParallel);
    }

    /** @return the configuration counted */
    public TransformerConfig config() {
        return config;
    }

    /** @return the model class counted */
    public ModelVariant variant() {
        return variant;
    }

    /** @return the vocabulary size used: the configuration's, or the padded one */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return the tensor-parallel degree the vocabulary was padded for (1 for {@link #of}) */
    public int tensorParallel() {
        return tensorParallel;
    }

    private long h() {
        return config.hiddenSize();
    }

    /** @return whether the model is a BERT-style encoder with a pooler and MLM + sentence-pair heads (BERT, ALBERT) */
    private boolean isBert() {
        return config.architecture() == Architecture.BERT || config.architecture() == Architecture.ALBERT;
    }

    /** BERT, RoBERTa and DistilBERT: encoders with an embedding LayerNorm (post-LN) and a masked-LM head. */
    private boolean isEncoder() {
        return config.architecture() != Architecture.GPT2;
    }

    private boolean pretraining() {
        return variant == ModelVariant.PRETRAINING_MODEL;
    }

    private boolean isAlbert() {
        return config.architecture() == Architecture.ALBERT;
    }

    /** @return E, the embedding width (H except for ALBERT) */
    private long e() {
        return config.embeddingSize();
    }

    /** @return V·E, the token embedding (shared with the tied output layer); E = H except for ALBERT */
    public long wordEmbeddings() {
        return (long) vocabSize * e();
    }

    /** @return P·E, the learned position embedding */
    public long positionEmbeddings() {
        return (long) config.maxPositions() * e();
    }

    /** @return T·E, the token-type (segment) embedding; 0 for GPT-2 */
    public long tokenTypeEmbeddings() {
        return (long) config.typeVocabSize() * e();
    }

    /** @return 2E for the embedding LayerNorm of post-LN BERT, RoBERTa, DistilBERT and ALBERT (E = H except for ALBERT), else 0 */
    public long embeddingLayerNorm() {
        return isEncoder() && !config.preLayerNorm() ? 2 * e() : 0;
    }

    /** @return E·H + H, ALBERT's {@code embedding_hidden_mapping_in}; 0 for the other families */
    public long embeddingHiddenMapping() {
        return isAlbert() ? e() * h() + h() : 0;
    }

    /** @return all embedding parameters: token, position, token-type, the embedding LayerNorm and ALBERT's mapping */
    public long embeddings() {
        return wordEmbeddings() + positionEmbeddings() + tokenTypeEmbeddings() + embeddingLayerNorm()
                + embeddingHiddenMapping();
    }

    /** @return layers that hold parameters: L, or ALBERT's G·K shared ones (numHiddenGroups · innerGroupNum) */
    public long distinctLayers() {
        return isAlbert() ? (long) config.albert().numHiddenGroups() * config.albert().innerGroupNum() : config.numLayers();
    }

    /** @return 4H² + 4H: the Q, K, V and output projections of one layer, with biases */
    public long attentionPerLayer() {
        return 4 * h() * h() + 4 * h();
    }

    /** @return 2·H·I + I + H: the two MLP linear layers of one layer, with biases */
    public long mlpPerLayer() {
        long i = config.intermediateSize();
        return 2 * h() * i + i + h();
    }

    /** @return 4H: the two LayerNorms of one layer */
    public long layerNormsPerLayer() {
        return 4 * h();
    }

    /** @return one layer: attention + MLP + LayerNorms */
    public long perLayer() {
        return attentionPerLayer() + mlpPerLayer() + layerNormsPerLayer();
    }

    /** @return {@link #distinctLayers()} · {@link #perLayer()}: a shared layer counts once */
    public long layers() {
        return distinctLayers() * perLayer();
    }

    /** @return 2H for GPT-2 and pre-LN BERT's final LayerNorm, else 0 */
    public long finalLayerNorm() {
        return !isEncoder() || config.preLayerNorm() ? 2 * h() : 0;
    }

    /**
     * @return H² + H, the pooler (dense on the first token) of BERT and of {@code RobertaModel}; 0 for
     *     GPT-2, DistilBERT and {@code RobertaForMaskedLM}
     */
    public long pooler() {
        boolean has = isBert() || config.architecture() == Architecture.ROBERTA && !pretraining();
        return has ? h() * h() + h() : 0;
    }

    /**
     * @return H·E + 3E, the masked-LM transform (dense H → E + LayerNorm(E); E = H except for ALBERT) of an
     *     encoder's pre-training variant, else 0
     */
    public long mlmTransform() {
        return isEncoder() && pretraining() ? h() * e() + 3 * e() : 0;
    }

    /** @return V, the masked-LM decoder bias of an encoder's pre-training variant (its weight is tied), else 0 */
    public long mlmDecoderBias() {
        return isEncoder() && pretraining() ? vocabSize : 0;
    }

    /** @return 2H + 2, BERT's next-sentence (ALBERT's sentence-order) classifier in the pre-training variant, else 0 */
    public long nspClassifier() {
        return isBert() && pretraining() ? 2 * h() + 2 : 0;
    }

    /** @return all pre-training head parameters; 0 for the base model and for GPT-2 (tied head, no bias) */
    public long heads() {
        return mlmTransform() + mlmDecoderBias() + nspClassifier();
    }

    /** @return embeddings + layers + final LayerNorm + pooler + heads */
    public long total() {
        return embeddings() + layers() + finalLayerNorm() + pooler() + heads();
    }

    /**
     * Parameters that every tensor-parallel rank holds in full (see the class comment): position and
     * token-type embeddings, every LayerNorm, the attention-output and second-MLP biases, the pooler, the
     * MLM transform and the NSP classifier.
     *
     * @return replicated parameters, counted once
     */
    public long replicatedAcrossTensorParallel() {
        long perLayerReplicated = layerNormsPerLayer() + 2 * h();
        return positionEmbeddings() + tokenTypeEmbeddings() + embeddingLayerNorm() + embeddingHiddenMapping()
                + distinctLayers() * perLayerReplicated + finalLayerNorm() + pooler() + mlmTransform()
                + nspClassifier();
    }

    /**
     * Parameters one tensor-parallel rank holds: {@code replicated + (total − replicated) / tp}. This
     * is Ψ for the ZeRO memory formulas with pipeline parallelism off. At tp 1 it equals
     * {@link #total()}; across ranks, {@code tp · perRank = total + (tp − 1) · replicated}.
     *
     * @return parameters per tensor-parallel rank
     */
    public long perTensorParallelRank() {
        long replicated = replicatedAcrossTensorParallel();
        return replicated + (total() - replicated) / tensorParallel;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "%s (V=%d, tp=%d): total %,d = embeddings %,d + %d layers × %,d (attention %,d, MLP %,d, LayerNorms %,d)"
                        + " + final LayerNorm %,d + pooler %,d + heads %,d; per tensor-parallel rank %,d",
                variant.hfClassName(config), vocabSize, tensorParallel, total(), embeddings(), distinctLayers(),
                perLayer(), attentionPerLayer(), mlpPerLayer(), layerNormsPerLayer(), finalLayerNorm(), pooler(),
                heads(), perTensorParallelRank());
    }
}
