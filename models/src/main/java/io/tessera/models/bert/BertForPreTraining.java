package io.tessera.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ClassifierLoss;
import io.tessera.models.Encoder;
import io.tessera.models.EncoderOutput;
import io.tessera.models.HfLayout;
import io.tessera.models.LabelledRows;
import io.tessera.models.LossTerms;
import io.tessera.models.MaskedLmForward;
import io.tessera.models.MaskedLmOutput;
import io.tessera.models.ModuleGroup;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.pipeline.LayerPartition;
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
 * BERT with its pre-training heads, as Hugging Face's {@code BertForPreTraining} (post-LN) or
 * {@code MegatronBertForPreTraining} (pre-LN), split Megatron-style over the tensor-parallel group.
 *
 * <pre>
 *   E   = drop(LN_e(word[ids] + type[tt] + pos[0..T)))            [B, T, C]   (pre-LN: no LN_e)
 *   H   = layer_L(… layer_1(E))                                    [B, T, C]   (pre-LN: then LN_f)
 *   MLM = LN_t(gelu(H·W_tᵀ + b_t))·wordᵀ + b_v                     [B, T, V']  tied to the word embedding
 *   NSP = tanh(H[:, 0]·W_pᵀ + b_p)·W_sᵀ + b_s                      [B, 2]
 *   loss = CE(MLM, labels) + CE(NSP, nextSentenceLabels)             (-100 ignored, means over the rest)
 * </pre>
 *
 * <p>Split: the word embedding, its tied decoder and {@code cls.predictions.bias} over the vocabulary;
 * attention heads and MLP features per {@link TransformerLayer}; position and token-type embeddings,
 * LayerNorms, pooler, MLM transform and NSP classifier replicated. The masked-LM loss is
 * {@link VocabParallelCrossEntropy}: full logits are never gathered.
 *
 * <p>Logits where: {@link #forward} and {@link #loss} project every position (Hugging Face's outputs,
 * {@code bench step}'s definition of the step); {@link #lossTerms} and {@link #head}, the training and
 * evaluation path, project only the masked positions ({@link LabelledRows}, as Google's BERT): the
 * same loss and gradients, and ~85% less decoder and cross-entropy work at 15% masking.
 *
 * <p>Collectives per step: forward one all-reduce for the embedding, two per layer, and three small
 * ones in the cross-entropy; backward one for the decoder's input and two per layer.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class BertForPreTraining extends TransformerModel implements MaskedLmForward, PipelinedModel {

    private static final Set<String> ALIASES = Set.of("cls.predictions.decoder.weight", "cls.predictions.decoder.bias",
            "bert.embeddings.position_ids");

    private final Encoder encoder;
    private final BertEncoder bert;
    private final LayerPartition partition;
    private final Linear transform;
    private final LayerNorm transformLayerNorm;
    private final Parameter predictionsBias;
    private final Linear seqRelationship;
    private final Gelu headActivation;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT configuration
     * @param parallel this rank's parallel context
     * @throws IllegalArgumentException if the configuration is not BERT or does not split over the
     *     tensor-parallel degree (heads, hidden or MLP size not divisible), naming the numbers
     */
    public BertForPreTraining(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT configuration
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether each layer's attention and MLP nodes keep only their inputs
     *     and recompute in backward, trading one extra forward of those nodes for their activations
     * @throws IllegalArgumentException if the configuration is not BERT or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public BertForPreTraining(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.BERT);
        this.partition = new LayerPartition(config.numLayers(), parallel.pipelineSize(), parallel.virtualStages(),
                parallel.pipelineRank());
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.bert = new BertEncoder(config, parallel, rng(), checkpointActivations, true, partition);
        this.encoder = register("bert", bert);
        VocabParallelEmbedding wordEmbeddings = encoder.wordEmbeddings();
        if (partition.holdsHead()) {
            ModuleGroup cls = register("cls", new ModuleGroup());
            ModuleGroup predictions = cls.add("predictions", new ModuleGroup());
            this.predictionsBias = predictions.add("bias", wordEmbeddings.newVocabBias());
            ModuleGroup transformGroup = predictions.add("transform", new ModuleGroup());
            this.transform = transformGroup.add("dense", new Linear(h, h, true, WeightLayout.OUT_IN, init));
            this.transformLayerNorm = transformGroup.add("LayerNorm", new LayerNorm(h, config.layerNormEps()));
            this.seqRelationship = cls.add("seq_relationship", new Linear(h, 2, true, WeightLayout.OUT_IN, init));
            hfLayout(predictionsBias, HfLayout.paddedRows(config.vocabSize()));
        } else {
            this.predictionsBias = null;
            this.transform = null;
            this.transformLayerNorm = null;
            this.seqRelationship = null;
        }
        this.headActivation = TransformerLayer.gelu(config.hiddenAct());
        if (wordEmbeddings != null) {
            hfLayout(wordEmbeddings.weight(), HfLayout.paddedRows(config.vocabSize()));
        }
    }

    /** @return the vocabulary-parallel word embedding (tied to the MLM decoder) */
    public VocabParallelEmbedding wordEmbeddings() {
        return encoder.wordEmbeddings();
    }

    /** @return the layers, in order */
    public List<? extends io.tessera.core.nn.Module> layers() {
        return encoder.layers();
    }

    /** @return the encoder (embeddings, layers, pooler) under {@code bert.} */
    public Encoder encoder() {
        return encoder;
    }

    @Override
    public String basePrefix() {
        return "bert";
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return ALIASES.contains(name) || encoder.isBuffer(name);
    }

    @Override
    public Var loss(Tape tape, TokenBatch batch) {
        Var loss = forward(tape, batch).loss();
        if (loss == null) {
            throw new IllegalArgumentException("BERT loss needs labels or nextSentenceLabels in the batch; both are null");
        }
        return loss;
    }

    /**
     * {@code mlm}: masked-LM cross-entropy summed over labels that are not -100 (with the accuracy of
     * the masked-token predictions when asked); {@code nsp}: next-sentence cross-entropy summed over
     * labelled sequences.
     */
    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        return head(tape, chunk(tape, 0, embed(tape, batch), batch), batch, countCorrect);
    }

    @Override
    public MaskedLmOutput maskedLm(Tape tape, TokenBatch batch) {
        BertOutput out = forward(tape, batch);
        return new MaskedLmOutput(out.sequenceOutput(), out.mlmLogits(), out.mlmLoss());
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("mlm", batch.labels() == null ? 0 : labelled(batch.labels()));
        counts.put("nsp", batch.nextSentenceLabels() == null ? 0 : labelled(batch.nextSentenceLabels()));
        return counts;
    }

    /**
     * Records the forward pass and, when the batch has labels, the losses.
     *
     * <p>Shapes: B batch, T sequence ≤ maxPositions, C hidden, V' padded vocabulary, p degree.
     *
     * @param tape the step's tape
     * @param batch the batch
     * @return hidden states, logits and losses
     */
    public BertOutput forward(Tape tape, TokenBatch batch) {
        checkBatch(tape, batch);
        return output(tape, encoder.forward(tape, batch), batch, null, batch.labels());
    }

    /** The training path projects only the labelled (masked) positions. */
    @Override
    public int projectedPositions(int seq, double labelled) {
        return (int) Math.min(seq, Math.max(0, Math.round(labelled)));
    }

    @Override
    public LayerPartition partition() {
        return partition;
    }

    @Override
    public Var embed(Tape tape, TokenBatch batch) {
        checkBatch(tape, batch);
        return bert.embed(tape, batch);
    }

    @Override
    public Var chunk(Tape tape, int chunk, Var hidden, TokenBatch batch) {
        return bert.chunk(tape, chunk, hidden, batch);
    }

    @Override
    public LossTerms head(Tape tape, Var hidden, TokenBatch batch, boolean countCorrect) {
        Map<String, Long> counts = labelCounts(batch);
        long mlm = counts.get("mlm");
        NDArray positions = null;
        NDArray selected = null;
        if (mlm > 0) { // the vocabulary projection only where a token is masked (LabelledRows)
            positions = LabelledRows.positions(batch.labels());
            positions.attach(tape.manager());
            selected = LabelledRows.labels(batch.labels(), positions);
            selected.attach(tape.manager());
        }
        NDArray mlmLabels = countCorrect && selected != null ? selected.duplicate() : null;
        BertOutput out = output(tape, bert.finish(tape, hidden), batch, positions, selected);
        long mlmCorrect = mlmLabels != null ? correctTokens(tape, "cls.predictions.eval", out.mlmLogits(), mlmLabels) : -1;
        return new LossTerms(List.of(term(tape, "mlm", out.mlmLoss(), mlm, mlmCorrect), term(tape, "nsp", out.nspLoss(), counts.get("nsp"), -1)));
    }

    @Override
    public List<Parameter> tiedParameters() {
        return partition.stages() > 1 && encoder.wordEmbeddings() != null ? List.of(encoder.wordEmbeddings().weight()) : List.of();
    }

    @Override
    public Set<Parameter> stageCopies() {
        return partition.stages() > 1 && !partition.holdsEmbedding() && encoder.wordEmbeddings() != null
                ? Set.of(encoder.wordEmbeddings().weight()) : Set.of();
    }

    /**
     * The pre-training heads and losses over the encoder's output (the last stage).
     *
     * @param positions null: logits at every position ({@code [B, T, V'/p]}, as Hugging Face); else the
     *     {@link LabelledRows#positions} of the labels, and logits only there ({@code [N, V'/p]})
     * @param mlmLabels the labels the logits are scored against: {@code [B, T]}, or {@code [N]} with
     *     positions; null without masked-LM labels
     */
    private BertOutput output(Tape tape, EncoderOutput encoded, TokenBatch batch, NDArray positions, NDArray mlmLabels) {
        TransformerConfig c = config();
        Var sequence = encoded.sequence();                                                       // [B, T, C]
        Var pooled = encoded.pooled();                                                           // [B, C]
        Var transformed = positions == null
                ? tape.apply1("cls.predictions.transform", false, (ctx, in) -> new NDList(transformed(ctx, in.get(0))), sequence)
                : tape.apply1("cls.predictions.transform", false,                               // [N, C]
                        (ctx, in) -> new NDList(transformed(ctx, LabelledRows.rows(in.get(0), in.get(1)))),
                        sequence, tape.constant(positions));
        Var mlmLogits = encoder.wordEmbeddings().parallelLogits(tape, "cls.predictions.decoder", transformed, predictionsBias); // [B, T | N, V'/p]
        Var nspLogits = seqRelationship.forward(tape, "cls.seq_relationship", pooled);           // [B, 2]

        Var mlmLoss = mlmLabels == null ? null : VocabParallelCrossEntropy.apply(tape, parallel().tensor(),
                "cls.predictions.loss", mlmLogits, tape.constant(mlmLabels), c.vocabSize());
        Var nspLoss = batch.nextSentenceLabels() == null ? null : tape.apply1("cls.seq_relationship.loss", false,
                (ctx, in) -> new NDList(ClassifierLoss.crossEntropy(in.get(0), in.get(1))), nspLogits, tape.constant(batch.nextSentenceLabels()));
        Var loss;
        if (mlmLoss != null && nspLoss != null) {
            loss = tape.apply1("loss", false, (ctx, in) -> new NDList(in.get(0).add(in.get(1))), mlmLoss, nspLoss);
        } else {
            loss = mlmLoss != null ? mlmLoss : nspLoss;
        }
        return new BertOutput(sequence, pooled, mlmLogits, nspLogits, mlmLoss, nspLoss, loss);
    }

    private NDArray transformed(NodeContext ctx, NDArray x) {
        return transformLayerNorm.apply(ctx, headActivation.apply(transform.apply(ctx, x)));
    }

    @Override
    protected void checkFamilyFields(NDManager scratch, TokenBatch batch) {
        encoder.checkFields(scratch, batch);
        if (batch.nextSentenceLabels() != null) {
            checkRange(scratch, "nextSentenceLabels", batch.nextSentenceLabels(), 0, 2, Set.of(-100L),
                    "use 0 (continuation), 1 (random) or -100 (ignored)");
        }
    }
}
