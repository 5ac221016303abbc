package io.tessera.models;

import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.pipeline.LayerPartition;
import io.tessera.parallel.pipeline.StageCopies;
import java.util.List;
import java.util.Map;

/**
 * A model that can be cut into pipeline stages: each rank builds only the parts its
 * {@link LayerPartition} gives it, and a pipeline engine runs them piece by piece, one tape per
 * micro-batch and chunk, moving the hidden states between ranks.
 *
 * <pre>
 *   virtual stage 0:          x = embed(batch)                           [B, T, C]
 *   every chunk c of a rank:  x = chunk(c, x, batch)                     [B, T, C]  (its layers, in order)
 *   last virtual stage:       terms = head(x, batch)                     the model's LossTerms
 *   whole model:              head(chunk(0, embed(batch))) records exactly the nodes of lossTerms(batch)
 * </pre>
 *
 * <p>Parameter names, and so initial values ({@code mix(seed, hash(name))}), are those of the whole
 * model: a stage holds exactly the whole model's tensors of its layers. The last stage holds a copy of
 * the word embedding for the tied output layer (the first stage holds the reference); the engine sums
 * their gradients ({@link #tiedParameters}) so that both stay equal.
 *
 * <p>Thread safety: as the model (one rank's).
 */
public interface PipelinedModel extends StageCopies {

    /** @return which layers this rank holds */
    LayerPartition partition();

    /**
     * Checks the batch and records the embeddings (virtual stage 0 only).
     *
     * @param tape the micro-batch's tape for chunk 0 of stage 0
     * @param batch the micro-batch
     * @return {@code [B, T, C]} hidden states entering layer 0
     */
    Var embed(Tape tape, TokenBatch batch);

    /**
     * Records one chunk's layers.
     *
     * @param tape the micro-batch's tape for this chunk
     * @param chunk the rank's chunk, {@code 0 ≤ chunk < v}
     * @param hidden {@code [B, T, C]} hidden states entering its first layer
     * @param batch the micro-batch (its attention mask)
     * @return {@code [B, T, C]} hidden states leaving its last layer
     */
    Var chunk(Tape tape, int chunk, Var hidden, TokenBatch batch);

    /**
     * Records the final normalisation, the head and the loss terms (last virtual stage only).
     *
     * @param tape the micro-batch's tape for the last chunk
     * @param hidden {@code [B, T, C]} hidden states leaving the last layer
     * @param batch the micro-batch (its labels)
     * @param countCorrect whether to count correct arg-max predictions per term (evaluation)
     * @return the terms, as the whole model's {@link TransformerModel#lossTerms}
     */
    LossTerms head(Tape tape, Var hidden, TokenBatch batch, boolean countCorrect);

    /**
     * @param batch a micro-batch
     * @return the label count of every term {@link #head} returns, without recording anything
     */
    Map<String, Long> labelCounts(TokenBatch batch);

    /**
     * The parameters shared between the first and the last stage, in the same order on both: on stage 0
     * the references, on stage p − 1 the copies; empty on every other stage and without pipeline.
     *
     * @return the tied parameters this rank holds
     */
    List<Parameter> tiedParameters();
}
