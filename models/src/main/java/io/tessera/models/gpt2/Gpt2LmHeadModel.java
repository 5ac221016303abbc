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
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerLayer;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Embedding;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
public final class Gpt2LmHeadModel extends TransformerModel {

    private final VocabParallelEmbedding wte;
    private final Embedding wpe;
    private final List<TransformerLayer> blocks;
    private final LayerNorm lnF;
    private final Dropout embeddingDropout;

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
     * @throws IllegalArgumentException if the configuration is not GPT-2 or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public Gpt2LmHeadModel(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.GPT2);
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup transformer = register("transformer", new ModuleGroup());
        this.wte = transformer.add("wte", new VocabParallelEmbedding(parallel, config.vocabSize(), paddedVocabSize(), h, init));
        this.wpe = transformer.add("wpe", new Embedding(config.maxPositions(), h, init));
        ModuleGroup hGroup = transformer.add("h", new ModuleGroup());
        List<TransformerLayer> bs = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            TransformerLayer block = hGroup.add(Integer.toString(i), TransformerLayer.of(config, parallel, checkpointActivations));
            for (Map.Entry<Parameter, HfLayout> e : block.hfLayouts(parallel.tensorSize()).entrySet()) {
                hfLayout(e.getKey(), e.getValue());
            }
            bs.add(block);
        }
        this.blocks = Collections.unmodifiableList(bs);
        this.lnF = transformer.add("ln_f", new LayerNorm(h, config.layerNormEps()));
        this.embeddingDropout = new Dropout(config.hiddenDropout(), Dropout.Region.REPLICATED, rng());
        hfLayout(wte.weight(), HfLayout.paddedRows(config.vocabSize()));
    }

    /** @return the vocabulary-parallel token embedding (tied to the head) */
    public VocabParallelEmbedding wte() {
        return wte;
    }

    /** @return the blocks, in order */
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
        long n = labelCounts(batch).get("lm"); // before the forward pass, which hands the batch to the tape
        NDArray targets = countCorrect && n > 0 ? shiftedTargets(tape.manager(), batch.labels()) : null;
        Gpt2Output out = forward(tape, batch);
        long correct = targets != null ? correctTokens(tape, "lm_head.eval", out.logits(), targets) : -1;
        return new LossTerms(List.of(term(tape, "lm", out.loss(), n, correct)));
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
        checkBatch(tape, batch);
        int b = batch.batchSize();
        int t = batch.seqLength();
        Var ids = tape.constant(batch.inputIds());
        Var mask = batch.attentionMask() != null ? tape.constant(batch.attentionMask()) : null;

        Var tokens = wte.forward(tape, "transformer.wte", ids);                                   // [B, T, C]
        Var x = tape.apply1("transformer.embeddings", false, (ctx, in) -> {
            NDArray positions = ctx.manager().arange(0, t, 1, DataType.INT64);
            return new NDList(embeddingDropout.apply(ctx, in.get(0).add(wpe.apply(ctx, positions)), 0));
        }, tokens);
        for (int i = 0; i < blocks.size(); i++) {
            x = blocks.get(i).forward(tape, "transformer.h." + i, x, mask);
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
