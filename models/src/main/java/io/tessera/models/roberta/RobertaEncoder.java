package io.tessera.models.roberta;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.Encoder;
import io.tessera.models.EncoderOutput;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * RoBERTa's encoder, Hugging Face's {@code RobertaModel(add_pooling_layer=False)}:
 * <pre>
 *   pos = pad + cumsum(ids ≠ pad) · (ids ≠ pad)                  [B, T]      pads get pad, tokens pad+1, pad+2, …
 *   E   = drop(LN_e(word[ids] + type[tt] + position[pos]))       [B, T, C]
 *   H   = layer_L(… layer_1(E))                                   [B, T, C]   BERT's post-LN layers
 * </pre>
 * Names (under {@code roberta.}): {@code embeddings.*}, {@code encoder.layer.N.*}; no pooler (loading
 * skips {@code roberta.pooler.*}, which {@code RobertaModel} checkpoints hold and the masked-LM and
 * classification models ignore). Collectives: forward one all-reduce for the embedding and two per layer.
 *
 * <p>Thread safety: not thread-safe; an encoder belongs to one rank's model.
 */
public final class RobertaEncoder extends Encoder {

    private static final String PREFIX = "roberta.";
    private static final Set<String> BUFFERS = Set.of("embeddings.position_ids", "embeddings.token_type_ids",
            "pooler.dense.weight", "pooler.dense.bias");

    private final TransformerConfig config;
    private final VocabParallelEmbedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final List<TransformerLayer> layers;
    private final Dropout embeddingDropout;

    /**
     * Declares the encoder; allocates nothing.
     *
     * @param config a RoBERTa configuration, checked by the model
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether the layers recompute in backward
     */
    public RobertaEncoder(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng,
                          boolean checkpointActivations) {
        this.config = config;
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup embeddings = register("embeddings", new ModuleGroup());
        this.wordEmbeddings = embeddings.add("word_embeddings", new VocabParallelEmbedding(parallel, config.vocabSize(),
                config.paddedVocabSize(parallel.tensorSize()), h, init));
        this.positionEmbeddings = embeddings.add("position_embeddings", new Embedding(config.maxPositions(), h, init));
        this.tokenTypeEmbeddings = embeddings.add("token_type_embeddings", new Embedding(config.typeVocabSize(), h, init));
        this.embeddingsLayerNorm = embeddings.add("LayerNorm", new LayerNorm(h, config.layerNormEps()));
        ModuleGroup layerGroup = register("encoder", new ModuleGroup()).add("layer", new ModuleGroup());
        List<TransformerLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            ls.add(layerGroup.add(Integer.toString(i), TransformerLayer.of(config, parallel, checkpointActivations)));
        }
        this.layers = Collections.unmodifiableList(ls);
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng);
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
        NDArray tokens = ids.neq(pad).toType(DataType.INT64, false);
        return tokens.cumSum(1).mul(tokens).add(pad);
    }

    @Override
    public String prefix() {
        return "roberta";
    }

    @Override
    public VocabParallelEmbedding wordEmbeddings() {
        return wordEmbeddings;
    }

    @Override
    public List<TransformerLayer> layers() {
        return layers;
    }

    @Override
    public boolean isBuffer(String name) {
        return BUFFERS.contains(name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name);
    }

    @Override
    public void checkLength(TokenBatch batch) {
        int longest = config.maxSequenceLength();
        if (batch.seqLength() > longest) {
            throw new IllegalArgumentException("sequence length " + batch.seqLength() + " exceeds " + longest
                    + " = maxPositions " + config.maxPositions() + " - padTokenId " + config.padTokenId() + " - 1 (RoBERTa's"
                    + " first token has position padTokenId + 1); truncate the batch or use more positions");
        }
    }

    /** Shapes: B batch, T sequence ≤ maxPositions − padTokenId − 1, C hidden. */
    @Override
    public EncoderOutput forward(Tape tape, TokenBatch batch) {
        Var ids = tape.constant(batch.inputIds());
        Var types = tokenTypes(tape, batch);
        Var mask = attentionMask(tape, batch);
        int pad = config.padTokenId();

        Var words = wordEmbeddings.forward(tape, "roberta.embeddings.word_embeddings", ids);     // [B, T, C]
        Var h = tape.apply1("roberta.embeddings", false, (ctx, in) -> {
            NDArray positions = positionIds(in.get(2), pad);                                     // [B, T]
            NDArray e = in.get(0).add(tokenTypeEmbeddings.apply(ctx, in.get(1))).add(positionEmbeddings.apply(ctx, positions));
            return new NDList(embeddingDropout.apply(ctx, embeddingsLayerNorm.apply(ctx, e), 0));
        }, words, types, ids);
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(tape, "roberta.encoder.layer." + i, h, mask);
        }
        return new EncoderOutput(h, null);
    }

    @Override
    public void checkFields(NDManager scratch, TokenBatch batch) {
        checkTokenTypes(scratch, batch, config.typeVocabSize(),
                "RoBERTa has typeVocabSize = " + config.typeVocabSize() + " token types; pass null for all zeros");
    }
}
