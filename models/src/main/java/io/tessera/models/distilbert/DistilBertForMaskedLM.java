package io.tessera.models.distilbert;

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
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.List;
import java.util.Set;

/**
 * DistilBERT with its masked-LM head, as Hugging Face's {@code DistilBertForMaskedLM}, split
 * Megatron-style over the tensor-parallel group.
 *
 * <pre>
 *   E   = drop(LN_e(word[ids] + position[0..T)))                 [B, T, C]   no token types
 *   h   = sa_layer_norm(x + drop(Attn(x)))                       [B, T, C]   per layer, post-LN
 *   y   = output_layer_norm(h + drop(lin2(act(lin1(h)))))
 *   MLM = vocab_layer_norm(act(H·W_tᵀ + b_t))·wordᵀ + b          [B, T, V']  vocab_projector tied to the word embedding
 *   loss = CE(MLM, labels)                                        mean over labels ≠ -100
 * </pre>
 * with act = {@code activation} of {@code config.json} (GELU) in the layers and in the head, and every
 * LayerNorm's epsilon 1e-12 (fixed in Hugging Face's code). Token-type ids in a batch are ignored, as
 * DistilBERT has none.
 *
 * <p>Names: {@code distilbert.embeddings.{word_embeddings,position_embeddings,LayerNorm}},
 * {@code distilbert.transformer.layer.N.{attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin1, ffn.lin2,
 * output_layer_norm}}, {@code vocab_transform}, {@code vocab_layer_norm}, {@code vocab_projector.bias};
 * {@code vocab_projector.weight} is the tied copy and is neither stored nor required.
 *
 * <p>Split: the word embedding, its tied projector and {@code vocab_projector.bias} over the vocabulary;
 * attention heads and FFN features per {@link TransformerLayer}; position embedding, LayerNorms and
 * {@code vocab_transform} replicated. Collectives as RoBERTa's: forward one all-reduce for the
 * embedding, two per layer, three small ones in the cross-entropy; backward one plus two per layer.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class DistilBertForMaskedLM extends MaskedLanguageModel {

    private static final Set<String> TIED = Set.of("vocab_projector.weight");

    private final Encoder encoder;
    private final Linear vocabTransform;
    private final LayerNorm vocabLayerNorm;
    private final Parameter vocabBias;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a DistilBERT configuration
     * @param parallel this rank's parallel context
     * @throws IllegalArgumentException if the configuration is not DistilBERT or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public DistilBertForMaskedLM(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a DistilBERT configuration
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether each layer's attention and MLP nodes keep only their inputs
     *     and recompute in backward
     * @throws IllegalArgumentException if the configuration is not DistilBERT or does not split over the
     *     tensor-parallel degree, naming the numbers
     */
    public DistilBertForMaskedLM(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, Architecture.DISTILBERT);
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.encoder = register("distilbert", Encoder.of(config, parallel, rng(), checkpointActivations, false));
        VocabParallelEmbedding wordEmbeddings = encoder.wordEmbeddings();
        this.vocabTransform = register("vocab_transform", new Linear(h, h, true, WeightLayout.OUT_IN, init));
        this.vocabLayerNorm = register("vocab_layer_norm", new LayerNorm(h, config.layerNormEps()));
        this.vocabBias = register("vocab_projector", new ModuleGroup()).add("bias", wordEmbeddings.newVocabBias());
        hfLayout(wordEmbeddings.weight(), HfLayout.paddedRows(config.vocabSize()));
        hfLayout(vocabBias, HfLayout.paddedRows(config.vocabSize()));
    }

    /** @return the vocabulary-parallel word embedding (tied to {@code vocab_projector}) */
    public VocabParallelEmbedding wordEmbeddings() {
        return encoder.wordEmbeddings();
    }

    /** @return the layers, in order */
    public List<? extends io.tessera.core.nn.Module> layers() {
        return encoder.layers();
    }

    /** @return the encoder (embeddings, layers) under {@code distilbert.} */
    public Encoder encoder() {
        return encoder;
    }

    @Override
    public String basePrefix() {
        return "distilbert";
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return TIED.contains(name) || encoder.isBuffer(name);
    }

    /** Shapes: B batch, T sequence ≤ maxPositions, C hidden, V' padded vocabulary, p degree. */
    @Override
    public MaskedLmOutput forward(Tape tape, TokenBatch batch) {
        rejectNextSentenceLabels(batch);
        checkBatch(tape, batch);
        Var h = encoder.forward(tape, batch).sequence();                                        // [B, T, C]
        return maskedLmHead(tape, "vocab", h, vocabTransform, TransformerLayer.gelu(config().hiddenAct()), vocabLayerNorm,
                encoder.wordEmbeddings(), vocabBias, batch.labels());
    }
}
