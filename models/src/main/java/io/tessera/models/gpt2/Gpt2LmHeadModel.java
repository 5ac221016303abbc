package io.tessera.models.gpt2;

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
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.pipeline.LayerPartition;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.SequenceParallel;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * GPT-2 with its language-model head, as Hugging Face's {@code GPT2LMHeadModel}, split Megatron-style
 * over the tensor-parallel group.
 *
 * <pre>
 *   X    = drop(wte[ids] + wpe[0..T))                                   [B, T, C]
 *   H    = ln_f(block_L(… block_1(X)))     pre-LN, causal attention      [B, T, C]
 *   Z    = H·wteᵀ                          head tied to wte, no bias      [B, T, V']
 *   loss = CE(Z[:, :-1], labels[:, 1:])    -100 ignored, mean over the rest
 * </pre>
 *
 * <p>Split: {@code wte} and the tied head over the vocabulary; heads and MLP features per
 * {@link TransformerLayer}; {@code wpe} and LayerNorms replicated. {@code c_attn} is stored rank-major
 * ({@link io.tessera.parallel.tensor.FusedQkv}) and converted on checkpoint export and import. The loss
 * is {@link VocabParallelCrossEntropy}: full logits are never gathered.
 *
 * <p>Collectives per step: forward one all-reduce for the embedding, two per layer and three small ones
 * in the cross-entropy; backward one for the head's input and two per layer.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class Gpt2LmHeadModel extends TransformerModel implements PipelinedModel {

    private final VocabParallelEmbedding wte;
    private final Embedding wpe;
    private final List<TransformerLayer> blocks;
    private final LayerNorm lnF;
    private final Dropout embeddingDropout;
    private final LayerPartition partition;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a GPT-2 configuration
     * @param parallel this rank's parallel context
     * @throws IllegalArgumentException if the configuration is not GPT-2 or does not split over the
     *     tensor-parallel degree (heads, hidden or MLP size not divisible), naming the numbers
     */
    public Gpt2LmHeadModel(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a GPT-2 configuration
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether each layer's attention and MLP nodes keep only their inputs
     *     and recompute in backward, trading one extra forward of those nodes for their activations
     * @throws IllegalArgumentException if the configuration is not GPT-2, does not split over the
     *     tensor-parallel degree, or its layers do not split into the context's pipeline stages × virtual
     *     stages, naming the numbers
     */
    public Gpt2LmHeadModel(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.GPT2);
        // This rank's pipeline stage: stage 0 holds wte and wpe, the last stage ln_f and a copy of wte for the
        // tied head, every stage the layers of its partition (names as in the whole model).
        this.partition = new LayerPartition(config.numLayers(), parallel.pipelineSize(), parallel.virtualStages(),
                parallel.pipelineRank());
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup transformer = register("transformer", new ModuleGroup());
        boolean embedding = partition.holdsEmbedding() || partition.holdsHead();
        this.wte = embedding
                ? transformer.add("wte", new VocabParallelEmbedding(parallel, config.vocabSize(), paddedVocabSize(), h, init)) : null;
        this.wpe = partition.holdsEmbedding() ? transformer.add("wpe", new Embedding(config.maxPositions(), h, init)) : null;
        ModuleGroup hGroup = transformer.add("h", new ModuleGroup());
        List<TransformerLayer> bs = new ArrayList<>();
        for (int c = 0; c < partition.chunks(); c++) {
            for (int i = partition.firstLayer(c); i < partition.endLayer(c); i++) {
                TransformerLayer block = hGroup.add(Integer.toString(i),
                        TransformerLayer.of(config, parallel, checkpointActivations, parallel.sequenceParallel()));
                for (Map.Entry<Parameter, HfLayout> e : block.hfLayouts(parallel.tensorSize()).entrySet()) {
                    hfLayout(e.getKey(), e.getValue());
                }
                bs.add(block);
            }
        }
        this.blocks = Collections.unmodifiableList(bs);
        this.lnF = partition.holdsHead() ? transformer.add("ln_f", new LayerNorm(h, config.layerNormEps())) : null;
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng());
        if (wte != null) {
            hfLayout(wte.weight(), HfLayout.paddedRows(config.vocabSize()));
        }
    }

    /** @return the vocabulary-parallel token embedding (tied to the head) */
    public VocabParallelEmbedding wte() {
        return wte;
    }

    /** @return this rank's blocks, in order (every block without pipeline) */
    public List<TransformerLayer> blocks() {
        return blocks;
    }

    @Override
    public String basePrefix() {
        return "transformer";
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return name.equals("lm_head.weight") || name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias");
    }

    @Override
    public Var loss(Tape tape, TokenBatch batch) {
        Var loss = forward(tape, batch).loss();
        if (loss == null) {
            throw new IllegalArgumentException("GPT-2 loss needs labels in the batch (labels = inputIds, -100 for padding)");
        }
        return loss;
    }

    /** {@code lm}: next-token cross-entropy summed over the positions whose next token is labelled. */
    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        requireWhole();
        return head(tape, chunk(tape, 0, embed(tape, batch), batch), batch, countCorrect);
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("lm", batch.labels() == null ? 0 : labelled(batch.labels().get(new NDIndex(":, 1:"))));
        return counts;
    }

    /** Position t predicts token t+1: targets[:, t] = labels[:, t+1], and the last position scores nothing. */
    private static NDArray shiftedTargets(NDManager manager, NDArray labels) {
        long b = labels.getShape().get(0);
        return labels.get(new NDIndex(":, 1:")).toType(DataType.INT64, false)
                .concat(manager.full(new Shape(b, 1), VocabParallelCrossEntropy.IGNORE_INDEX, DataType.INT64), 1);
    }

    /**
     * Records the forward pass and, when the batch has labels, the loss.
     *
     * <p>Shapes: B batch, T sequence ≤ maxPositions, C hidden, V' padded vocabulary, p degree.
     *
     * @param tape the step's tape
     * @param batch the batch; {@code labels} are the unshifted targets (usually the input ids)
     * @return hidden states, this rank's logits and the loss
     */
    public Gpt2Output forward(Tape tape, TokenBatch batch) {
        requireWhole();
        return output(tape, chunk(tape, 0, embed(tape, batch), batch), batch);
    }

    private void requireWhole() {
        if (!partition.isWhole()) {
            throw new IllegalStateException("this Gpt2LmHeadModel is pipeline stage " + partition.stage() + " of "
                    + partition.stages() + "; run it through a pipeline engine (embed, chunk, head), not forward");
        }
    }

    @Override
    public LayerPartition partition() {
        return partition;
    }

    @Override
    public Var embed(Tape tape, TokenBatch batch) {
        if (!partition.holdsEmbedding()) {
            throw new IllegalStateException("pipeline stage " + partition.stage() + " holds no embedding (stage 0 does)");
        }
        checkBatch(tape, batch);
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var tokens = wte.forward(tape, "transformer.wte", ids);                                   // [B, T, C]
        Var x = tape.apply1("transformer.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            return new NDList(embeddingDropout.apply(ctx, in.get(0).add(wpe.apply(ctx, positions)), 0));
        }, tokens);
        return parallel().sequenceParallel()                                                      // [B, T/p, C]
                ? SequenceParallel.scatter(tape, parallel().tensor(), "transformer.embeddings.scatter", x) : x;
    }

    @Override
    public Var chunk(Tape tape, int chunk, Var hidden, TokenBatch batch) {
        Var mask = batch.attentionMask() != null ? tape.constant(batch.attentionMask()) : null;
        int first = partition.firstLayer(chunk);
        int offset = chunk * partition.layersPerChunk();
        Var x = hidden;
        for (int i = 0; i < partition.layersPerChunk(); i++) {
            x = blocks.get(offset + i).forward(tape, "transformer.h." + (first + i), x, mask);
        }
        return x;
    }

    @Override
    public LossTerms head(Tape tape, Var hidden, TokenBatch batch, boolean countCorrect) {
        long n = labelCounts(batch).get("lm");
        NDArray targets = countCorrect && n > 0 ? shiftedTargets(tape.manager(), batch.labels()) : null;
        Gpt2Output out = output(tape, hidden, batch);
        long correct = targets != null ? correctTokens(tape, "lm_head.eval", out.logits(), targets) : -1;
        return new LossTerms(List.of(term(tape, "lm", out.loss(), n, correct)));
    }

    @Override
    public List<Parameter> tiedParameters() {
        return partition.stages() > 1 && wte != null ? List.of(wte.weight()) : List.of();
    }

    @Override
    public Set<Parameter> stageCopies() {
        return partition.stages() > 1 && !partition.holdsEmbedding() && wte != null ? Set.of(wte.weight()) : Set.of();
    }

    /** ln_f, the tied head and, with labels, the loss (the last virtual stage). */
    private Gpt2Output output(Tape tape, Var x, TokenBatch batch) {
        if (!partition.holdsHead()) {
            throw new IllegalStateException("pipeline stage " + partition.stage() + " holds no head (stage "
                    + (partition.stages() - 1) + " does)");
        }
        if (parallel().sequenceParallel()) {
            x = SequenceParallel.gather(tape, parallel().tensor(), "transformer.h.gather", x);    // [B, T/p, C] → [B, T, C]
        }
        Var hidden = lnF.forward(tape, "transformer.ln_f", x);
        Var logits = wte.parallelLogits(tape, "lm_head", hidden, null);                         // [B, T, V'/p]
        if (batch.labels() == null) {
            return new Gpt2Output(hidden, logits, null);
        }
        NDArray shifted = shiftedTargets(tape.manager(), tape.constant(batch.labels()).value());
        Var loss = VocabParallelCrossEntropy.apply(tape, parallel().tensor(), "lm_head.loss", logits, tape.constant(shifted),
                config().vocabSize());
        return new Gpt2Output(hidden, logits, loss);
    }
}
