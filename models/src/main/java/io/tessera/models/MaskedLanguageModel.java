package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import io.tessera.parallel.tensor.VocabParallelEmbedding;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An encoder trained with the masked-LM objective only (RoBERTa, DistilBERT): one loss term,
 * {@code mlm}, and the masked-LM head they share with BERT,
 * <pre>
 *   logits = LN(act(H·W_tᵀ + b_t))·wordᵀ + b_v          H [B, T, C] → [B, T, V'/p]
 *   loss   = CE(logits, labels)                          mean over labels ≠ -100
 * </pre>
 * with the decoder tied to the vocabulary-parallel word embedding, so the logits stay split over the
 * vocabulary and {@link VocabParallelCrossEntropy} never gathers them. Subclasses name the head's
 * parameters as their Hugging Face class does and record the encoder in {@link #forward}.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public abstract class MaskedLanguageModel extends TransformerModel implements MaskedLmForward {

    /** The name of the one loss term. */
    public static final String MLM = "mlm";

    /**
     * @param config the configuration
     * @param parallel this rank's parallel context
     * @param architecture the family the subclass builds
     * @throws IllegalArgumentException if the configuration is of another family or does not split over
     *     the tensor-parallel degree; nothing has been allocated
     */
    protected MaskedLanguageModel(TransformerConfig config, ParallelContext parallel, Architecture architecture) {
        super(config, parallel, architecture);
    }

    /**
     * Records the forward pass and, when the batch has labels, the masked-LM loss.
     *
     * @param tape the step's tape
     * @param batch the batch; {@code nextSentenceLabels} must be null
     * @return hidden states, this rank's logits and the loss
     */
    public abstract MaskedLmOutput forward(Tape tape, TokenBatch batch);

    @Override
    public final MaskedLmOutput maskedLm(Tape tape, TokenBatch batch) {
        return forward(tape, batch);
    }

    @Override
    public final Var loss(Tape tape, TokenBatch batch) {
        Var loss = forward(tape, batch).loss();
        if (loss == null) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + " loss needs masked-LM labels in the batch (-100 where no loss applies); labels are null");
        }
        return loss;
    }

    /** {@code mlm}: masked-LM cross-entropy summed over labels that are not -100. */
    @Override
    public final LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        long n = labelCounts(batch).get(MLM); // before the forward pass, which hands the batch to the tape
        NDArray labels = countCorrect && n > 0 ? batch.labels().duplicate() : null;
        MaskedLmOutput out = forward(tape, batch);
        long correct = labels != null ? correctTokens(tape, MLM + ".eval", out.logits(), labels) : -1;
        return new LossTerms(List.of(term(tape, MLM, out.loss(), n, correct)));
    }

    @Override
    public final Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put(MLM, batch.labels() == null ? 0 : labelled(batch.labels()));
        return counts;
    }

    /**
     * Fails for a batch with next-sentence labels, which this objective would silently drop.
     *
     * @param batch the batch
     * @throws IllegalArgumentException if {@code nextSentenceLabels} is set
     */
    protected final void rejectNextSentenceLabels(TokenBatch batch) {
        if (batch.nextSentenceLabels() != null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no next-sentence head, but the batch"
                    + " holds nextSentenceLabels; build the batch without them (sentence pairs are packed as full"
                    + " sentences for " + config().architecture() + ")");
        }
    }

    /**
     * Records the masked-LM head and, with labels, its loss.
     *
     * @param tape the step's tape
     * @param name node-name prefix of the head, e.g. {@code lm_head}
     * @param hidden {@code [B, T, C]}, replicated
     * @param transform the dense layer {@code W_t, b_t}
     * @param activation the activation between dense and LayerNorm
     * @param layerNorm the head's LayerNorm
     * @param words the word embedding, whose weight is the decoder
     * @param decoderBias {@code b_v}, split over the vocabulary like the embedding
     * @param labels {@code [B, T]} targets, -100 ignored, or null
     * @return {@code hidden} as the sequence output, the {@code [B, T, V'/p]} logits and the mean loss
     *     (null without labels)
     */
    protected final MaskedLmOutput maskedLmHead(Tape tape, String name, Var hidden, Linear transform, Gelu activation,
                                       LayerNorm layerNorm, VocabParallelEmbedding words, Parameter decoderBias,
                                       NDArray labels) {
        Var transformed = tape.apply1(name + ".transform", false,
                (ctx, in) -> new NDList(layerNorm.apply(ctx, activation.apply(transform.apply(ctx, in.get(0))))), hidden);
        Var logits = words.parallelLogits(tape, name + ".decoder", transformed, decoderBias);     // [B, T, V'/p]
        Var loss = labels == null ? null : VocabParallelCrossEntropy.apply(tape, parallel().tensor(), name + ".loss",
                logits, tape.constant(labels), config().vocabSize());
        return new MaskedLmOutput(hidden, logits, loss);
    }
}
