package io.tessera.models.distilbert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
 * DistilBERT's encoder, Hugging Face's {@code DistilBertModel}:
 * <pre>
 *   E = drop(LN_e(word[ids] + position[0..T)))                 [B, T, C]   no token types
 *   h = sa_layer_norm(x + drop(Attn(x)))                       [B, T, C]   per layer, post-LN
 *   y = output_layer_norm(h + drop(lin2(act(lin1(h)))))
 * </pre>
 * Names (under {@code distilbert.}): {@code embeddings.{word_embeddings,position_embeddings,LayerNorm}},
 * {@code transformer.layer.N.{attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin1, ffn.lin2,
 * output_layer_norm}}; no pooler. Token-type ids in a batch are ignored. Collectives: forward one
 * all-reduce for the embedding and two per layer.
 *
 * <p>Thread safety: not thread-safe; an encoder belongs to one rank's model.
 */
public final class DistilBertEncoder extends Encoder {

    private static final Set<String> BUFFERS = Set.of("distilbert.embeddings.position_ids", "embeddings.position_ids");

    private final VocabParallelEmbedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final List<TransformerLayer> layers;
    private final Dropout embeddingDropout;

    /**
     * Declares the encoder; allocates nothing.
     *
     * @param config a DistilBERT configuration, checked by the model
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether the layers recompute in backward
     */
    public DistilBertEncoder(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng,
                             boolean checkpointActivations) {
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup embeddings = register("embeddings", new ModuleGroup());
        this.wordEmbeddings = embeddings.add("word_embeddings", new VocabParallelEmbedding(parallel, config.vocabSize(),
                config.paddedVocabSize(parallel.tensorSize()), h, init));
        this.positionEmbeddings = embeddings.add("position_embeddings", new Embedding(config.maxPositions(), h, init));
        this.embeddingsLayerNorm = embeddings.add("LayerNorm", new LayerNorm(h, config.layerNormEps()));
        ModuleGroup layerGroup = register("transformer", new ModuleGroup()).add("layer", new ModuleGroup());
        List<TransformerLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            ls.add(layerGroup.add(Integer.toString(i), TransformerLayer.of(config, parallel, checkpointActivations)));
        }
        this.layers = Collections.unmodifiableList(ls);
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng);
    }

    @Override
    public String prefix() {
        return "distilbert";
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
        return BUFFERS.contains(name);
    }

    /** Shapes: B batch, T sequence ≤ maxPositions, C hidden. */
    @Override
    public EncoderOutput forward(Tape tape, TokenBatch batch) {
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var mask = batch.attentionMask() != null ? tape.constant(batch.attentionMask()) : null;

        Var words = wordEmbeddings.forward(tape, "distilbert.embeddings.word_embeddings", ids);   // [B, T, C]
        Var h = tape.apply1("distilbert.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            NDArray e = in.get(0).add(positionEmbeddings.apply(ctx, positions));
            return new NDList(embeddingDropout.apply(ctx, embeddingsLayerNorm.apply(ctx, e), 0));
        }, words);
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(tape, "distilbert.transformer.layer." + i, h, mask);
        }
        return new EncoderOutput(h, null);
    }
}
