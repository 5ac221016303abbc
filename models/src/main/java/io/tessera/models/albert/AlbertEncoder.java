package io.tessera.models.albert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.Encoder;
import io.tessera.models.EncoderOutput;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TokenBatch;
import io.tessera.models.config.AlbertShape;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * ALBERT's encoder, Hugging Face's {@code AlbertModel}: a factorised embedding, then layer groups
 * shared across depth.
 * <pre>
 *   X   = drop(LN_e(word[ids] + type[tt] + pos[0..T)))                  [B, T, E]
 *   H_0 = X·W_mᵀ + b_m                        embedding_hidden_mapping_in [B, T, H]
 *   for l in 0..L-1, g = floor(l / (L / G)):  for k in 0..K-1:  H = layer_{g,k}(H)     (shared weights)
 *   P   = tanh(H[:, 0]·W_pᵀ + b_p)                                       [B, H]      with the pooler only
 * </pre>
 * E embedding size, H hidden, L depth steps, G = numHiddenGroups, K = innerGroupNum ({@link AlbertShape}).
 * Names (under {@code albert.}): {@code embeddings.{word,position,token_type}_embeddings},
 * {@code embeddings.LayerNorm}, {@code encoder.embedding_hidden_mapping_in},
 * {@code encoder.albert_layer_groups.g.albert_layers.k.*}, {@code pooler}.
 *
 * <p>Sharing: the G·K layers are registered once each; each of the L·K uses records its own nodes on
 * the tape, so backward sums every use's gradient into the one parameter, ZeRO shards it once and
 * checkpoints store it once. Split: the word embedding (width E) over the vocabulary, heads and FFN
 * features per {@link AlbertLayer}, the rest replicated. Collectives: forward one all-reduce for the
 * embedding and two per layer use.
 *
 * <p>Thread safety: not thread-safe; an encoder belongs to one rank's model.
 */
public final class AlbertEncoder extends Encoder {

    private static final Set<String> BUFFERS = Set.of("albert.embeddings.position_ids", "embeddings.position_ids");

    private final TransformerConfig config;
    private final VocabParallelEmbedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final Linear embeddingHiddenMapping;
    private final List<List<AlbertLayer>> groups;
    private final Linear pooler;
    private final Dropout embeddingDropout;

    /**
     * Declares the encoder; allocates nothing.
     *
     * @param config an ALBERT configuration, checked by the model
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether each layer use recomputes in backward
     * @param withPooler whether to add {@code pooler}
     */
    public AlbertEncoder(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng, boolean checkpointActivations,
                         boolean withPooler) {
        this.config = config;
        int h = config.hiddenSize();
        int e = config.embeddingSize();
        AlbertShape shape = config.albert();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup embeddings = register("embeddings", new ModuleGroup());
        this.wordEmbeddings = embeddings.add("word_embeddings",
                new VocabParallelEmbedding(parallel, config.vocabSize(), config.paddedVocabSize(parallel.tensorSize()), e, init));
        this.positionEmbeddings = embeddings.add("position_embeddings", new Embedding(config.maxPositions(), e, init));
        this.tokenTypeEmbeddings = embeddings.add("token_type_embeddings", new Embedding(config.typeVocabSize(), e, init));
        this.embeddingsLayerNorm = embeddings.add("LayerNorm", new LayerNorm(e, config.layerNormEps()));
        ModuleGroup encoder = register("encoder", new ModuleGroup());
        this.embeddingHiddenMapping = encoder.add("embedding_hidden_mapping_in", new Linear(e, h, true, WeightLayout.OUT_IN, init));
        ModuleGroup groupsModule = encoder.add("albert_layer_groups", new ModuleGroup());
        List<List<AlbertLayer>> gs = new ArrayList<>();
        for (int g = 0; g < shape.numHiddenGroups(); g++) {
            ModuleGroup layersModule = groupsModule.add(Integer.toString(g), new ModuleGroup()).add("albert_layers", new ModuleGroup());
            List<AlbertLayer> inner = new ArrayList<>();
            for (int k = 0; k < shape.innerGroupNum(); k++) {
                inner.add(layersModule.add(Integer.toString(k), new AlbertLayer(config, parallel, checkpointActivations)));
            }
            gs.add(Collections.unmodifiableList(inner));
        }
        this.groups = Collections.unmodifiableList(gs);
        this.pooler = withPooler ? register("pooler", new Linear(h, h, true, WeightLayout.OUT_IN, init)) : null;
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng);
    }

    @Override
    public String prefix() {
        return "albert";
    }

    @Override
    public VocabParallelEmbedding wordEmbeddings() {
        return wordEmbeddings;
    }

    /** @return the G·K shared layers in registration order (group-major), each used L / G times */
    @Override
    public List<AlbertLayer> layers() {
        List<AlbertLayer> all = new ArrayList<>();
        groups.forEach(all::addAll);
        return Collections.unmodifiableList(all);
    }

    /** @return the shared layers: {@code groups().get(g).get(k)} is {@code albert_layer_groups.g.albert_layers.k} */
    public List<List<AlbertLayer>> groups() {
        return groups;
    }

    @Override
    public boolean isBuffer(String name) {
        return BUFFERS.contains(name);
    }

    @Override
    public EncoderOutput forward(Tape tape, TokenBatch batch) {
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var types = tokenTypes(tape, batch);
        Var mask = attentionMask(tape, batch);

        Var words = wordEmbeddings.forward(tape, "albert.embeddings.word_embeddings", ids);         // [B, T, E]
        Var x = tape.apply1("albert.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            NDArray sum = in.get(0).add(tokenTypeEmbeddings.apply(ctx, in.get(1))).add(positionEmbeddings.apply(ctx, positions));
            return new NDList(embeddingDropout.apply(ctx, embeddingsLayerNorm.apply(ctx, sum), 0));
        }, words, types);
        Var h = embeddingHiddenMapping.forward(tape, "albert.encoder.embedding_hidden_mapping_in", x); // [B, T, H]
        AlbertShape shape = config.albert();
        for (int l = 0; l < config.numLayers(); l++) {
            List<AlbertLayer> group = groups.get(shape.groupOf(l, config.numLayers()));
            for (int k = 0; k < group.size(); k++) {
                h = group.get(k).forward(tape, "albert.encoder.layer." + l + "." + k, h, mask);
            }
        }
        Var pooled = pooler == null ? null : tape.apply1("albert.pooler", false,
                (ctx, in) -> new NDList(pooler.apply(ctx, in.get(0).get(new NDIndex(":, 0, :"))).tanh()), h);   // [B, H]
        return new EncoderOutput(h, pooled);
    }

    @Override
    public void checkFields(NDManager scratch, TokenBatch batch) {
        checkTokenTypes(scratch, batch, config.typeVocabSize(), "segment ids must be below typeVocabSize");
    }
}
