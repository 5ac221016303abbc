package io.tessera.models.bert;

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
import io.tessera.models.TransformerLayer;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.pipeline.LayerPartition;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.SequenceParallel;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * BERT's encoder, Hugging Face's {@code BertModel} (post-LN) or {@code MegatronBertModel} (pre-LN):
 * <pre>
 *   E = drop(LN_e(word[ids] + type[tt] + pos[0..T)))            [B, T, C]   (pre-LN: no LN_e)
 *   H = layer_L(… layer_1(E))                                    [B, T, C]   (pre-LN: then LN_f)
 *   P = tanh(H[:, 0]·W_pᵀ + b_p)                                 [B, C]      with the pooler only
 * </pre>
 * Names (under {@code bert.}): {@code embeddings.{word,position,token_type}_embeddings},
 * {@code embeddings.LayerNorm}, {@code encoder.layer.N.*}, {@code encoder.ln} (pre-LN),
 * {@code pooler.dense}. Collectives: forward one all-reduce for the embedding and two per layer.
 *
 * <p>Thread safety: not thread-safe; an encoder belongs to one rank's model.
 */
public final class BertEncoder extends Encoder {

    private static final Set<String> BUFFERS = Set.of("bert.embeddings.position_ids", "embeddings.position_ids");

    private final TransformerConfig config;
    private final VocabParallelEmbedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final List<TransformerLayer> layers;
    private final LayerNorm finalLayerNorm;
    private final Linear pooler;
    private final Dropout embeddingDropout;
    private final LayerPartition partition;
    private final Communicator tensorGroup; // under sequence parallelism only

    /**
     * Declares the encoder; allocates nothing.
     *
     * @param config a BERT configuration, checked by the model
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether the layers recompute in backward
     * @param withPooler whether to add {@code pooler.dense}
     */
    public BertEncoder(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng,
                       boolean checkpointActivations, boolean withPooler) {
        this(config, parallel, rng, checkpointActivations, withPooler, LayerPartition.whole(config.numLayers()));
    }

    /**
     * Declares one pipeline stage of the encoder; allocates nothing. Stage 0 holds the embeddings, the
     * last stage a copy of the word embedding (for a tied decoder), the final LayerNorm and the pooler,
     * every stage the layers of its partition (names as in the whole encoder).
     *
     * @param config a BERT configuration, checked by the model
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether the layers recompute in backward
     * @param withPooler whether to add {@code pooler.dense}
     * @param partition which layers this rank holds
     */
    public BertEncoder(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng,
                       boolean checkpointActivations, boolean withPooler, LayerPartition partition) {
        this.config = config;
        this.partition = partition;
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        boolean first = partition.holdsEmbedding();
        boolean last = partition.holdsHead();
        ModuleGroup embeddings = register("embeddings", new ModuleGroup());
        this.wordEmbeddings = first || last ? embeddings.add("word_embeddings", new VocabParallelEmbedding(parallel,
                config.vocabSize(), config.paddedVocabSize(parallel.tensorSize()), h, init)) : null;
        this.positionEmbeddings = first ? embeddings.add("position_embeddings", new Embedding(config.maxPositions(), h, init)) : null;
        this.tokenTypeEmbeddings = first ? embeddings.add("token_type_embeddings", new Embedding(config.typeVocabSize(), h, init))
                : null;
        this.embeddingsLayerNorm = config.preLayerNorm() || !first ? null
                : embeddings.add("LayerNorm", new LayerNorm(h, config.layerNormEps()));
        ModuleGroup encoder = register("encoder", new ModuleGroup());
        ModuleGroup layerGroup = encoder.add("layer", new ModuleGroup());
        List<TransformerLayer> ls = new ArrayList<>();
        for (int c = 0; c < partition.chunks(); c++) {
            for (int i = partition.firstLayer(c); i < partition.endLayer(c); i++) {
                ls.add(layerGroup.add(Integer.toString(i),
                        TransformerLayer.of(config, parallel, checkpointActivations, parallel.sequenceParallel())));
            }
        }
        this.layers = Collections.unmodifiableList(ls);
        this.finalLayerNorm = config.preLayerNorm() && last ? encoder.add("ln", new LayerNorm(h, config.layerNormEps())) : null;
        this.pooler = withPooler && last
                ? register("pooler", new ModuleGroup()).add("dense", new Linear(h, h, true, WeightLayout.OUT_IN, init))
                : null;
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng);
        this.tensorGroup = parallel.sequenceParallel() ? parallel.tensor() : null;
    }

    /** @return which layers this encoder holds */
    public LayerPartition partition() {
        return partition;
    }

    @Override
    public String prefix() {
        return "bert";
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

    @Override
    public EncoderOutput forward(Tape tape, TokenBatch batch) {
        if (!partition.isWhole()) {
            throw new IllegalStateException("this BertEncoder is pipeline stage " + partition.stage() + " of " + partition.stages()
                    + "; run embed, chunk and finish through a pipeline engine");
        }
        return finish(tape, chunk(tape, 0, embed(tape, batch), batch));
    }

    /**
     * Records the embeddings (stage 0).
     *
     * @param tape the tape
     * @param batch the batch, checked by the model
     * @return {@code [B, T, C]}
     */
    public Var embed(Tape tape, TokenBatch batch) {
        if (!partition.holdsEmbedding()) {
            throw new IllegalStateException("pipeline stage " + partition.stage() + " holds no embeddings (stage 0 does)");
        }
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var types = tokenTypes(tape, batch);
        Var words = wordEmbeddings.forward(tape, "bert.embeddings.word_embeddings", ids);        // [B, T, C]
        Var e = tape.apply1("bert.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            NDArray sum = in.get(0).add(tokenTypeEmbeddings.apply(ctx, in.get(1))).add(positionEmbeddings.apply(ctx, positions));
            if (embeddingsLayerNorm != null) {
                sum = embeddingsLayerNorm.apply(ctx, sum);
            }
            return new NDList(embeddingDropout.apply(ctx, sum, 0));
        }, words, types);
        return tensorGroup != null ? SequenceParallel.scatter(tape, tensorGroup, "bert.embeddings.scatter", e) : e;   // [B, T/p, C]
    }

    /**
     * Records one chunk's layers.
     *
     * @param tape the tape
     * @param chunk this rank's chunk
     * @param h {@code [B, T, C]} entering its first layer
     * @param batch the batch (its attention mask)
     * @return {@code [B, T, C]} leaving its last layer
     */
    public Var chunk(Tape tape, int chunk, Var h, TokenBatch batch) {
        Var mask = attentionMask(tape, batch);
        int first = partition.firstLayer(chunk);
        int offset = chunk * partition.layersPerChunk();
        for (int i = 0; i < partition.layersPerChunk(); i++) {
            h = layers.get(offset + i).forward(tape, "bert.encoder.layer." + (first + i), h, mask);
        }
        return h;
    }

    /**
     * Records the final LayerNorm (pre-LN) and the pooler (last stage).
     *
     * @param tape the tape
     * @param h {@code [B, T, C]} leaving the last layer
     * @return the sequence output and, with a pooler, the pooled output
     */
    public EncoderOutput finish(Tape tape, Var h) {
        if (!partition.holdsHead()) {
            throw new IllegalStateException("pipeline stage " + partition.stage() + " does not end the encoder (stage "
                    + (partition.stages() - 1) + " does)");
        }
        if (tensorGroup != null) {
            h = SequenceParallel.gather(tape, tensorGroup, "bert.encoder.gather", h);             // [B, T/p, C] → [B, T, C]
        }
        if (finalLayerNorm != null) {
            h = finalLayerNorm.forward(tape, "bert.encoder.ln", h);
        }
        Var pooled = pooler == null ? null : tape.apply1("bert.pooler", false,
                (ctx, in) -> new NDList(pooler.apply(ctx, in.get(0).get(new NDIndex(":, 0, :"))).tanh()), h);   // [B, C]
        return new EncoderOutput(h, pooled);
    }

    @Override
    public void checkFields(NDManager scratch, TokenBatch batch) {
        checkTokenTypes(scratch, batch, config.typeVocabSize(), "segment ids must be below typeVocabSize");
    }
}
