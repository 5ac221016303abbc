package io.tessera.models;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Module;
import io.tessera.core.tape.Tape;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import java.util.List;

/**
 * The body a family's pre-training model and its task heads share: embeddings and layers (and, for
 * BERT, the pooler), registered by the model under the family's base prefix ({@code bert},
 * {@code roberta}, {@code distilbert}), so that its parameter names are Hugging Face's in every model
 * class that holds it.
 * <pre>
 *   ids, types, mask ──► embeddings ──► layer_1 … layer_L ──► H [B, T, C]  ──► (pooler) tanh(H[:, 0]·W_pᵀ + b_p) [B, C]
 * </pre>
 * Split as the layers are: the word embedding over the vocabulary, attention heads and MLP features
 * per {@link TransformerLayer}, the rest replicated; its outputs are replicated over the
 * tensor-parallel group.
 *
 * <p>A family adds a subclass and one case in {@link #of}.
 *
 * <p>Thread safety: not thread-safe; an encoder belongs to one rank's model.
 */
public abstract class Encoder extends Module {

    /**
     * The encoder of a configuration's family: {@code BertEncoder}, {@code RobertaEncoder},
     * {@code DistilBertEncoder} or {@code AlbertEncoder}. Declares only.
     *
     * @param config the configuration
     * @param parallel this rank's parallel context
     * @param rng the model's dropout RNG tracker
     * @param checkpointActivations whether the layers recompute in backward
     * @param pooler whether to add BERT's or ALBERT's pooler (Hugging Face's {@code add_pooling_layer}); the
     *     other families have none
     * @return the encoder
     * @throws IllegalArgumentException for GPT-2, which is a decoder
     */
    public static Encoder of(TransformerConfig config, ParallelContext parallel, TensorParallelRng rng,
                             boolean checkpointActivations, boolean pooler) {
        switch (config.architecture()) {
            case BERT:
                return new io.tessera.models.bert.BertEncoder(config, parallel, rng, checkpointActivations, pooler);
            case ROBERTA:
                return new io.tessera.models.roberta.RobertaEncoder(config, parallel, rng, checkpointActivations);
            case DISTILBERT:
                return new io.tessera.models.distilbert.DistilBertEncoder(config, parallel, rng, checkpointActivations);
            case ALBERT:
                return new io.tessera.models.albert.AlbertEncoder(config, parallel, rng, checkpointActivations, pooler);
            default:
                throw new IllegalArgumentException(config.architecture() + " has no encoder: task heads sit on BERT,"
                        + " RoBERTa, DistilBERT and ALBERT");
        }
    }

    /** @return the base prefix of the names, without the dot ({@code bert}) */
    public abstract String prefix();

    /** @return the vocabulary-parallel word embedding */
    public abstract VocabParallelEmbedding wordEmbeddings();

    /** @return the layers, in order ({@link TransformerLayer}s; ALBERT's shared {@code AlbertLayer}s, each held once) */
    public abstract List<? extends Module> layers();

    /**
     * Records the embeddings, layers and pooler. The caller checks the batch first
     * ({@link #checkLength}, then {@link TransformerModel}'s range checks with {@link #checkFields}).
     *
     * <p>Shapes: B batch, T sequence, C hidden.
     *
     * @param tape the step's tape
     * @param batch the batch (its arrays then belong to the tape)
     * @return {@code [B, T, C]} hidden states and, with a pooler, {@code [B, C]}
     */
    public abstract EncoderOutput forward(Tape tape, TokenBatch batch);

    /**
     * Fails for a sequence longer than the family allows, before any range check.
     *
     * @param batch the batch
     * @throws IllegalArgumentException naming the length and the limit
     */
    public void checkLength(TokenBatch batch) {}

    /**
     * Checks the encoder's own batch fields (token types).
     *
     * @param scratch owner of temporaries
     * @param batch the batch
     */
    public void checkFields(NDManager scratch, TokenBatch batch) {}

    /**
     * @param tape the step's tape
     * @param batch the batch
     * @return its token types as a constant, all zeros where the batch has none
     */
    protected static io.tessera.core.tape.Var tokenTypes(Tape tape, TokenBatch batch) {
        return tape.constant(batch.tokenTypeIds() != null ? batch.tokenTypeIds()
                : tape.manager().zeros(new ai.djl.ndarray.types.Shape(batch.batchSize(), batch.seqLength()),
                        ai.djl.ndarray.types.DataType.INT64));
    }

    /**
     * @param tape the step's tape
     * @param batch the batch
     * @return its attention mask as a constant, or null where every position attends
     */
    protected static io.tessera.core.tape.Var attentionMask(Tape tape, TokenBatch batch) {
        return batch.attentionMask() != null ? tape.constant(batch.attentionMask()) : null;
    }

    /**
     * Checks a batch's token types, where it has them, against the type vocabulary.
     *
     * @param scratch owner of temporaries
     * @param batch the batch
     * @param typeVocabSize the number of token types
     * @param fix what the message tells the caller to do
     */
    protected static void checkTokenTypes(NDManager scratch, TokenBatch batch, int typeVocabSize, String fix) {
        if (batch.tokenTypeIds() != null) {
            TransformerModel.checkRange(scratch, "tokenTypeIds", batch.tokenTypeIds(), 0, typeVocabSize, java.util.Set.of(), fix);
        }
    }

    /**
     * Names a Hugging Face checkpoint of this encoder may hold that are buffers, not parameters
     * ({@code bert.embeddings.position_ids}), with or without the prefix.
     *
     * @param name a checkpoint name
     * @return whether loading may skip it
     */
    public abstract boolean isBuffer(String name);
}
