package io.tessera.models.roberta;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.Encoder;
import io.tessera.models.HfLayout;
import io.tessera.models.MaskedLanguageModel;
import io.tessera.models.MaskedLmOutput;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.List;
import java.util.Set;

/**
 * RoBERTa with its masked-LM head, as Hugging Face's {@code RobertaForMaskedLM}, split Megatron-style
 * over the tensor-parallel group.
 *
 * <pre>
 *   pos = pad + cumsum(ids ≠ pad) · (ids ≠ pad)                  [B, T]      pads get pad, tokens pad+1, pad+2, …
 *   E   = drop(LN_e(word[ids] + type[tt] + position[pos]))       [B, T, C]
 *   H   = layer_L(… layer_1(E))                                   [B, T, C]   BERT's post-LN layers
 *   MLM = LN_h(gelu(H·W_dᵀ + b_d))·wordᵀ + b                      [B, T, V']  decoder tied to the word embedding
 *   loss = CE(MLM, labels)                                          mean over labels ≠ -100
 * </pre>
 *
 * <p>Position ids are Hugging Face's {@code create_position_ids_from_input_ids}: they depend on where
 * the padding id {@code pad} ({@link TransformerConfig#padTokenId()}, 1 for RoBERTa's tokenizer) occurs,
 * not on the column, so a sequence has the same positions whether it is padded on the right, on the
 * left or not at all. The longest sequence is therefore {@code maxPositions − pad − 1} (512 for
 * {@code roberta-base}'s 514). The head's activation is always exact GELU, as in Hugging Face's
 * {@code RobertaLMHead}, whatever {@code hidden_act} says; there is no pooler.
 *
 * <p>Names: {@code roberta.embeddings.*}, {@code roberta.encoder.layer.N.*} (BERT's),
 * {@code lm_head.{dense,layer_norm,bias}}; {@code lm_head.decoder.*} are tied copies and are neither
 * stored nor required. Loading skips {@code roberta.pooler.*}, which checkpoints saved from
 * {@code RobertaModel} hold and {@code RobertaForMaskedLM} ignores.
 *
 * <p>Split: the word embedding, its tied decoder and {@code lm_head.bias} over the vocabulary;
 * attention heads and MLP features per {@link TransformerLayer}; position and token-type embeddings,
 * LayerNorms and {@code lm_head.dense} replicated. Collectives per step: forward one all-reduce for
 * the embedding, two per layer and three small ones in the cross-entropy; backward one for the
 * decoder's input and two per layer.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class RobertaForMaskedLM extends MaskedLanguageModel {

    private static final Set<String> TIED = Set.of("lm_head.decoder.weight", "lm_head.decoder.bias");

    private final Encoder encoder;
    private final Parameter lmBias;
    private final Linear lmDense;
    private final LayerNorm lmLayerNorm;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a RoBERTa configuration
     * @param parallel this rank's parallel context
     * @throws IllegalArgumentException if the configuration is not RoBERTa or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public RobertaForMaskedLM(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a RoBERTa configuration
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether each layer's attention and MLP nodes keep only their inputs
     *     and recompute in backward
     * @throws IllegalArgumentException if the configuration is not RoBERTa or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public RobertaForMaskedLM(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.ROBERTA);
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.encoder = register("roberta", Encoder.of(config, parallel, rng(), checkpointActivations, false));
        VocabParallelEmbedding wordEmbeddings = encoder.wordEmbeddings();
        ModuleGroup lmHead = register("lm_head", new ModuleGroup());
        this.lmBias = lmHead.add("bias", wordEmbeddings.newVocabBias());
        this.lmDense = lmHead.add("dense", new Linear(h, h, true, WeightLayout.OUT_IN, init));
        this.lmLayerNorm = lmHead.add("layer_norm", new LayerNorm(h, config.layerNormEps()));
        hfLayout(wordEmbeddings.weight(), HfLayout.paddedRows(config.vocabSize()));
        hfLayout(lmBias, HfLayout.paddedRows(config.vocabSize()));
    }

    /**
     * Hugging Face's {@code create_position_ids_from_input_ids}:
     * {@code pad + cumsum(ids ≠ pad, dim 1) · (ids ≠ pad)}.
     *
     * @param ids {@code [B, T]} token ids (not modified)
     * @param pad the padding id
     * @return {@code [B, T]} int64 position ids, owned by {@code ids}' manager
     */
    public static NDArray positionIds(NDArray ids, int pad) {
        return RobertaEncoder.positionIds(ids, pad);
    }

    /** @return the vocabulary-parallel word embedding (tied to the decoder) */
    public VocabParallelEmbedding wordEmbeddings() {
        return encoder.wordEmbeddings();
    }

    /** @return the layers, in order */
    public List<? extends io.tessera.core.nn.Module> layers() {
        return encoder.layers();
    }

    /** @return the encoder (embeddings, layers) under {@code roberta.} */
    public Encoder encoder() {
        return encoder;
    }

    @Override
    public String basePrefix() {
        return "roberta";
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return TIED.contains(name) || encoder.isBuffer(name);
    }

    /**
     * Shapes: B batch, T sequence ≤ maxPositions − padTokenId − 1, C hidden, V' padded vocabulary, p
     * degree.
     */
    @Override
    public MaskedLmOutput forward(Tape tape, TokenBatch batch) {
        rejectNextSentenceLabels(batch);
        encoder.checkLength(batch);
        checkBatch(tape, batch);
        Var h = encoder.forward(tape, batch).sequence();                                        // [B, T, C]
        return maskedLmHead(tape, "lm_head", h, lmDense, Gelu.EXACT, lmLayerNorm, encoder.wordEmbeddings(), lmBias,
                batch.labels());
    }

    @Override
    protected void checkFamilyFields(NDManager scratch, TokenBatch batch) {
        encoder.checkFields(scratch, batch);
    }
}
