package io.tessera.models.albert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.EncoderOutput;
import io.tessera.models.HfLayout;
import io.tessera.models.LossTerms;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.AlbertShape;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * ALBERT with its pre-training heads, as Hugging Face's {@code AlbertForPreTraining}, split
 * Megatron-style over the tensor-parallel group.
 *
 * <pre>
 *   H, P = {@link AlbertEncoder}(batch)          factorised embedding, shared layers, pooler   [B, T, H], [B, H]
 *   MLM = LN_p(gelu_new(H·W_dᵀ + b_d))·wordᵀ + b_v                       [B, T, V']  W_d: H → E; tied decoder
 *   SOP = drop_c(P)·W_sᵀ + b_s                                            [B, 2]
 *   loss = CE(MLM, labels) + CE(SOP, sentence-order labels)               (-100 ignored, means over the rest)
 * </pre>
 * E embedding size, H hidden, L depth steps, G = numHiddenGroups, K = innerGroupNum ({@link AlbertShape}).
 *
 * <p>Sharing (in {@link AlbertEncoder}): the G·K layers are registered once each under
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

    private final AlbertEncoder encoder;
    private final Linear predictionsDense;
    private final LayerNorm predictionsLayerNorm;
    private final Parameter predictionsBias;
    private final Linear sopClassifier;
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
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.encoder = register("albert", new AlbertEncoder(config, parallel, rng(), checkpointActivations, true));
        ModuleGroup predictions = register("predictions", new ModuleGroup());
        this.predictionsBias = predictions.add("bias", encoder.wordEmbeddings().newVocabBias());
        this.predictionsDense = predictions.add("dense", new Linear(h, e, true, WeightLayout.OUT_IN, init));
        this.predictionsLayerNorm = predictions.add("LayerNorm", new LayerNorm(e, config.layerNormEps()));
        this.sopClassifier = register("sop_classifier", new ModuleGroup())
                .add("classifier", new Linear(h, 2, true, WeightLayout.OUT_IN, init));
        this.classifierDropout = new Dropout(config.albert().classifierDropout(), Dropout.Region.REPLICATED, rng());
        this.headActivation = TransformerLayer.gelu(config.hiddenAct());
        hfLayout(encoder.wordEmbeddings().weight(), HfLayout.paddedRows(config.vocabSize()));
        hfLayout(predictionsBias, HfLayout.paddedRows(config.vocabSize()));
    }

    /** @return the vocabulary-parallel word embedding of width E (tied to the MLM decoder) */
    public VocabParallelEmbedding wordEmbeddings() {
        return encoder.wordEmbeddings();
    }

    /** @return the encoder (embeddings, shared layers, pooler), shared in code with ALBERT's task heads */
    public AlbertEncoder encoder() {
        return encoder;
    }

    /** @return the shared layers: {@code groups().get(g).get(k)} is {@code albert_layer_groups.g.albert_layers.k} */
    public List<List<AlbertLayer>> groups() {
        return encoder.groups();
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
        EncoderOutput encoded = encoder.forward(tape, batch);
        Var sequence = encoded.sequence();
        Var pooled = encoded.pooled();                                                                  // [B, H]
        Var transformed = tape.apply1("predictions.transform", false, (ctx, in) -> new NDList(
                predictionsLayerNorm.apply(ctx, headActivation.apply(predictionsDense.apply(ctx, in.get(0))))), sequence); // [B, T, E]
        Var mlmLogits = encoder.wordEmbeddings().parallelLogits(tape, "predictions.decoder", transformed, predictionsBias);   // [B, T, V'/p]
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
        encoder.checkFields(scratch, batch);
        if (batch.nextSentenceLabels() != null) {
            checkRange(scratch, "nextSentenceLabels (sentence_order_label)", batch.nextSentenceLabels(), 0, 2, Set.of(-100L),
                    "use 0 (original order), 1 (swapped) or -100 (ignored)");
        }
    }
}
