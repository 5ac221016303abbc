package io.tessera.models.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.Encoder;
import io.tessera.models.EncoderOutput;
import io.tessera.models.HfLayout;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.util.Set;

/**
 * What {@link SequenceClassifier} and {@link TokenClassifier} share: a family's {@link Encoder} under
 * its base prefix, a small replicated head whose parameters sit at the root under Hugging Face's names,
 * and replicated logits (no vocabulary, so no gather):
 * <pre>
 *   batch ──► Encoder ──► H [B, T, C] (, P [B, C]) ──► head ──► logits [B, K] or [B, T, K] ──► loss
 * </pre>
 * Collectives per step are the encoder's (forward one all-reduce for the embedding and two per layer,
 * backward two per layer); the head adds none.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public abstract class ClassifierModel extends TransformerModel {

    private final Encoder encoder;

    /**
     * @param config a BERT, RoBERTa or DistilBERT configuration with the subclass's head
     * @param parallel this rank's parallel context
     * @param task the head
     * @param checkpointActivations whether the layers recompute in backward
     * @param pooler whether the encoder has BERT's pooler
     */
    protected ClassifierModel(TransformerConfig config, ParallelContext parallel, HeadConfig.Task task,
                              boolean checkpointActivations, boolean pooler) {
        super(config, parallel, config.architecture(), task);
        Encoder e = Encoder.of(config, parallel, rng(), checkpointActivations, pooler);
        this.encoder = register(e.prefix(), e);
        hfLayout(e.wordEmbeddings().weight(), HfLayout.paddedRows(config.vocabSize()));
    }

    /**
     * Registers a head's children at the root, where Hugging Face names them.
     *
     * @param head the head
     */
    protected final void registerHead(io.tessera.core.nn.Module head) {
        head.children().forEach((name, child) -> register(name, child));
        head.localParameters().forEach((name, p) -> register(name, p));
    }

    /** @return the encoder, shared in code with the family's pre-training model */
    public final Encoder encoder() {
        return encoder;
    }

    /** @return K */
    public final int numLabels() {
        return config().head().numLabels();
    }

    @Override
    public final String basePrefix() {
        return encoder.prefix();
    }

    @Override
    public boolean isTiedOrBuffer(String name) {
        return encoder.isBuffer(name);
    }

    /**
     * Records the forward pass and, when the batch has labels, the loss.
     *
     * @param tape the step's tape
     * @param batch the batch (its arrays then belong to the tape)
     * @return the replicated logits and the mean loss (null without labels)
     */
    public abstract ClassifierOutput forward(Tape tape, TokenBatch batch);

    /**
     * The logits for prediction, the same on every rank of the tensor-parallel group.
     *
     * @param tape the step's tape (without gradients for inference)
     * @param batch the batch; its labels are ignored
     * @return {@code [B, K]} or {@code [B, T, K]}
     */
    public final Var logits(Tape tape, TokenBatch batch) {
        return forward(tape, new TokenBatch(batch.inputIds(), batch.tokenTypeIds(), batch.attentionMask(), null, null, null))
                .logits();
    }

    @Override
    public final Var loss(Tape tape, TokenBatch batch) {
        Var loss = forward(tape, batch).loss();
        if (loss == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " loss needs " + labelField() + " in the batch;"
                    + " it is null");
        }
        return loss;
    }

    /** @return the batch field holding this head's labels, for messages */
    protected abstract String labelField();

    /**
     * Checks the batch and records the encoder.
     *
     * @param tape the step's tape
     * @param batch the batch
     * @return the encoder's output
     */
    protected final EncoderOutput encode(Tape tape, TokenBatch batch) {
        if (batch.nextSentenceLabels() != null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no next-sentence head, but the batch holds"
                    + " nextSentenceLabels; put a sequence classifier's targets in sequenceLabels");
        }
        encoder.checkLength(batch);
        checkBatch(tape, batch);
        return encoder.forward(tape, batch);
    }

    @Override
    protected void checkFamilyFields(NDManager scratch, TokenBatch batch) {
        encoder.checkFields(scratch, batch);
    }

    /**
     * Checks integer class labels: {@code [0, K)} or -100.
     *
     * @param scratch owner of temporaries
     * @param field the batch field
     * @param labels the labels
     */
    protected final void checkClasses(NDManager scratch, String field, NDArray labels) {
        if (labels.getDataType().isFloating()) {
            throw new IllegalArgumentException(field + " is " + labels.getDataType() + "; classification labels are integer"
                    + " classes in [0, " + numLabels() + ") (regression needs numLabels = 1)");
        }
        checkRange(scratch, field, labels, 0, numLabels(), Set.of(-100L), "use class ids of id2label " + config().head().labels()
                + ", -100 where no loss applies");
    }

    /**
     * Arg-max predictions that match their labels, over labels that are not -100.
     *
     * @param tape the tape
     * @param logits {@code [..., K]} replicated logits
     * @param labels {@code [...]} integer labels (a copy the caller owns)
     * @return the count
     */
    protected static long correct(Tape tape, Var logits, NDArray labels) {
        try (NDManager scratch = tape.manager().newSubManager()) {
            NDArray predicted = logits.value().argMax(-1).toType(DataType.INT64, false);
            predicted.attach(scratch);
            NDArray t = labels.toType(DataType.INT64, false);
            t.attach(scratch);
            NDArray hit = predicted.eq(t).logicalAnd(t.neq(-100)).toType(DataType.INT64, false).sum();
            hit.attach(scratch);
            return hit.getLong();
        }
    }
}
