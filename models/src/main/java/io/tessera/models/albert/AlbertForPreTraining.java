package io.tessera.models.albert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.HfLayout;
import io.tessera.models.LossTerms;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.TransformerModel;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.AlbertShape;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * ALBERT with its pre-training heads, as Hugging Face's {@code AlbertForPreTraining}, split
 * Megatron-style over the tensor-parallel group.
 *
 * <pre>
 *   X   = drop(LN_e(word[ids] + type[tt] + pos[0..T)))                  [B, T, E]
 *   H_0 = X·W_mᵀ + b_m                        embedding_hidden_mapping_in [B, T, H]
 *   for l in 0..L-1, g = floor(l / (L / G)):  for k in 0..K-1:  H = layer_{g,k}(H)     (shared weights)
 *   MLM = LN_p(gelu_new(H·W_dᵀ + b_d))·wordᵀ + b_v                       [B, T, V']  W_d: H → E; tied decoder
 *   SOP = drop_c(tanh(H[:, 0]·W_pᵀ + b_p))·W_sᵀ + b_s                    [B, 2]
 *   loss = CE(MLM, labels) + CE(SOP, sentence-order labels)               (-100 ignored, means over the rest)
 * </pre>
 * E embedding size, H hidden, L depth steps, G = numHiddenGroups, K = innerGroupNum ({@link AlbertShape}).
 *
 * <p>Sharing: the G·K layers are registered once each under
 * {@code albert.encoder.albert_layer_groups.g.albert_layers.k}; each of the L·K uses records its own
 * nodes on the tape, so backward sums every use's gradient into the one parameter, ZeRO shards it once
 * and checkpoints store it once.
 *
 * <p>Split: the word embedding (width E), its tied decoder and {@code predictions.bias} over the
 * vocabulary; attention heads and FFN features per {@link AlbertLayer}; position and token-type
 * embeddings, LayerNorms, the E → H mapping, pooler, MLM dense and SOP classifier replicated.
 * Collectives per step: forward one all-reduce for the embedding, two per layer use and three small ones
 * in the cross-entropy; backward one for the decoder's input and two per layer use.
 *
 * <p>The sentence-order labels travel in {@link TokenBatch#nextSentenceLabels()} (Hugging Face's
 * {@code sentence_order_label}: 0 original order, 1 swapped); the loss term is named {@code sop}.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class AlbertForPreTraining extends TransformerModel {

    private static final Set<String> ALIASES = Set.of("predictions.decoder.weight", "predictions.decoder.bias",
            "albert.embeddings.position_ids");

    private final VocabParallelEmbedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final Linear embeddingHiddenMapping;
    private final List<List<AlbertLayer>> groups;
    private final Linear pooler;
    private final Linear predictionsDense;
    private final LayerNorm predictionsLayerNorm;
    private final Parameter predictionsBias;
    private final Linear sopClassifier;
    private final Dropout embeddingDropout;
    private final Dropout classifierDropout;
    private final Gelu headActivation;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config an ALBERT configuration
     * @param parallel this rank's parallel context
     * @throws IllegalArgumentException if the configuration is not ALBERT or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public AlbertForPreTraining(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config an ALBERT configuration
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether each layer use's attention and FFN nodes recompute in backward
     * @throws IllegalArgumentException if the configuration is not ALBERT or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public AlbertForPreTraining(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.ALBERT);
        int h = config.hiddenSize();
        int e = config.embeddingSize();
        AlbertShape shape = config.albert();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup albert = register("albert", new ModuleGroup());
        ModuleGroup embeddings = albert.add("embeddings", new ModuleGroup());
        this.wordEmbeddings = embeddings.add("word_embeddings",
                new VocabParallelEmbedding(parallel, config.vocabSize(), paddedVocabSize(), e, init));
        this.positionEmbeddings = embeddings.add("position_embeddings", new Embedding(config.maxPositions(), e, init));
        this.tokenTypeEmbeddings = embeddings.add("token_type_embeddings", new Embedding(config.typeVocabSize(), e, init));
        this.embeddingsLayerNorm = embeddings.add("LayerNorm", new LayerNorm(e, config.layerNormEps()));
        ModuleGroup encoder = albert.add("encoder", new ModuleGroup());
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
        this.pooler = albert.add("pooler", new Linear(h, h, true, WeightLayout.OUT_IN, init));
        ModuleGroup predictions = register("predictions", new ModuleGroup());
        this.predictionsBias = predictions.add("bias", wordEmbeddings.newVocabBias());
        this.predictionsDense = predictions.add("dense", new Linear(h, e, true, WeightLayout.OUT_IN, init));
        this.predictionsLayerNorm = predictions.add("LayerNorm", new LayerNorm(e, config.layerNormEps()));
        this.sopClassifier = register("sop_classifier", new ModuleGroup())
                .add("classifier", new Linear(h, 2, true, WeightLayout.OUT_IN, init));
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng());
        this.classifierDropout = new Dropout(shape.classifierDropout(), Dropout.Region.REPLICATED, rng());
        this.headActivation = TransformerLayer.gelu(config.hiddenAct());
        hfLayout(wordEmbeddings.weight(), HfLayout.paddedRows(config.vocabSize()));
        hfLayout(predictionsBias, HfLayout.paddedRows(config.vocabSize()));
    }

    /** @return the vocabulary-parallel word embedding of width E (tied to the MLM decoder) */
    public VocabParallelEmbedding wordEmbeddings() {
        return wordEmbeddings;
    }

    /** @return the shared layers: {@code groups().get(g).get(k)} is {@code albert_layer_groups.g.albert_layers.k} */
    public List<List<AlbertLayer>> groups() {
        return groups;
    }

    @Override
    public String basePrefix() {
        return "albert";
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return ALIASES.contains(name);
    }

    @Override
    public Var loss(Tape tape, TokenBatch batch) {
        Var loss = forward(tape, batch).loss();
        if (loss == null) {
            throw new IllegalArgumentException("ALBERT loss needs labels or sentence-order labels (nextSentenceLabels)"
                    + " in the batch; both are null");
        }
        return loss;
    }

    /**
     * {@code mlm}: masked-LM cross-entropy summed over labels that are not -100 (with the accuracy of
     * the masked-token predictions when asked); {@code sop}: sentence-order cross-entropy summed over
     * labelled sequences.
     */
    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        Map<String, Long> counts = labelCounts(batch);
        long mlm = counts.get("mlm");
        long sop = counts.get("sop");
        NDArray mlmLabels = countCorrect && mlm > 0 ? batch.labels().duplicate() : null;
        AlbertOutput out = forward(tape, batch);
        long mlmCorrect = mlmLabels != null ? correctTokens(tape, "predictions.eval", out.mlmLogits(), mlmLabels) : -1;
        return new LossTerms(List.of(term(tape, "mlm", out.mlmLoss(), mlm, mlmCorrect), term(tape, "sop", out.sopLoss(), sop, -1)));
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("mlm", batch.labels() == null ? 0 : labelled(batch.labels()));
        counts.put("sop", batch.nextSentenceLabels() == null ? 0 : labelled(batch.nextSentenceLabels()));
        return counts;
    }

    /**
     * Records the forward pass and, when the batch has labels, the losses.
     *
     * <p>Shapes: B batch, T sequence ≤ maxPositions, E embedding, H hidden, V' padded vocabulary.
     *
     * @param tape the step's tape
     * @param batch the batch
     * @return hidden states, logits and losses
     */
    public AlbertOutput forward(Tape tape, TokenBatch batch) {
        TransformerConfig c = config();
        checkBatch(tape, batch);
        int b = batch.batchSize();
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var types = tape.constant(batch.tokenTypeIds() != null ? batch.tokenTypeIds()
                : tape.manager().zeros(new Shape(b, t), DataType.INT64));
        Var mask = batch.attentionMask() != null ? tape.constant(batch.attentionMask()) : null;

        Var words = wordEmbeddings.forward(tape, "albert.embeddings.word_embeddings", ids);         // [B, T, E]
        Var x = tape.apply1("albert.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            NDArray sum = in.get(0).add(tokenTypeEmbeddings.apply(ctx, in.get(1))).add(positionEmbeddings.apply(ctx, positions));
            return new NDList(embeddingDropout.apply(ctx, embeddingsLayerNorm.apply(ctx, sum), 0));
        }, words, types);
        Var h = embeddingHiddenMapping.forward(tape, "albert.encoder.embedding_hidden_mapping_in", x); // [B, T, H]
        AlbertShape shape = c.albert();
        for (int l = 0; l < c.numLayers(); l++) {
            List<AlbertLayer> group = groups.get(shape.groupOf(l, c.numLayers()));
            for (int k = 0; k < group.size(); k++) {
                h = group.get(k).forward(tape, "albert.encoder.layer." + l + "." + k, h, mask);
            }
        }
        Var sequence = h;

        Var pooled = tape.apply1("albert.pooler", false,
                (ctx, in) -> new NDList(pooler.apply(ctx, in.get(0).get(new NDIndex(":, 0, :"))).tanh()), sequence);   // [B, H]
        Var transformed = tape.apply1("predictions.transform", false, (ctx, in) -> new NDList(
                predictionsLayerNorm.apply(ctx, headActivation.apply(predictionsDense.apply(ctx, in.get(0))))), sequence); // [B, T, E]
        Var mlmLogits = wordEmbeddings.parallelLogits(tape, "predictions.decoder", transformed, predictionsBias);   // [B, T, V'/p]
        Var sopLogits = tape.apply1("sop_classifier", false,
                (ctx, in) -> new NDList(sopClassifier.apply(ctx, classifierDropout.apply(ctx, in.get(0), 0))), pooled); // [B, 2]

        Var mlmLoss = batch.labels() == null ? null : VocabParallelCrossEntropy.apply(tape, parallel().tensor(),
                "predictions.loss", mlmLogits, tape.constant(batch.labels()), c.vocabSize());
        Var sopLoss = batch.nextSentenceLabels() == null ? null : tape.apply1("sop_classifier.loss", false,
                (ctx, in) -> new NDList(io.tessera.models.ClassifierLoss.crossEntropy(in.get(0), in.get(1))), sopLogits,
                tape.constant(batch.nextSentenceLabels()));
        Var loss;
        if (mlmLoss != null && sopLoss != null) {
            loss = tape.apply1("loss", false, (ctx, in) -> new NDList(in.get(0).add(in.get(1))), mlmLoss, sopLoss);
        } else {
            loss = mlmLoss != null ? mlmLoss : sopLoss;
        }
        return new AlbertOutput(sequence, pooled, mlmLogits, sopLogits, mlmLoss, sopLoss, loss);
    }

    @Override
    protected void checkFamilyFields(NDManager scratch, TokenBatch batch) {
        if (batch.tokenTypeIds() != null) {
            checkRange(scratch, "tokenTypeIds", batch.tokenTypeIds(), 0, config().typeVocabSize(), Set.of(),
                    "segment ids must be below typeVocabSize");
        }
        if (batch.nextSentenceLabels() != null) {
            checkRange(scratch, "nextSentenceLabels (sentence_order_label)", batch.nextSentenceLabels(), 0, 2, Set.of(-100L),
                    "use 0 (original order), 1 (swapped) or -100 (ignored)");
        }
    }
}
