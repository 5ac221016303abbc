package io.tessera.models.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ClassifierLoss;
import io.tessera.models.EncoderOutput;
import io.tessera.models.LossTerms;
import io.tessera.models.TokenBatch;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code BertForSequenceClassification}, {@code RobertaForSequenceClassification} and
 * {@code DistilBertForSequenceClassification}: the family's {@link io.tessera.models.Encoder} and its
 * {@link SequenceHead}, one prediction per sequence,
 * <pre>
 *   logits = head(encoder(batch))                                   [B, K]
 *   single_label_classification:  loss = CE(logits, sequenceLabels)     mean over labels ≠ -100
 *   regression (K = 1):           loss = mean_b (logits[b, 0] − sequenceLabels[b])²
 * </pre>
 * Loss term {@code cls}: the sum over labelled sequences, count = labelled sequences (all B for
 * regression), correct = arg-max right (classification only). BERT's encoder keeps its pooler.
 *
 * <pre>{@code
 * TransformerConfig c = HfConfigJson.read(dir).toBuilder()
 *         .optHead(HeadConfig.sequenceClassification(List.of("NEG", "POS"))).build();
 * SequenceClassifier model = (SequenceClassifier) TransformerModel.of(c, parallel);
 * try (ParameterBuffer params = ParameterBuffer.allocate(model, seed, manager)) {
 *     LoadReport r = HfCheckpoint.load(model, dir);   // r.initialised(): classifier.*
 *     ...
 * }
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class SequenceClassifier extends ClassifierModel {

    /** The name of the one loss term. */
    public static final String CLS = "cls";

    private final SequenceHead head;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT, RoBERTa or DistilBERT configuration with a sequence-classification head
     * @param parallel this rank's parallel context
     */
    public SequenceClassifier(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT, RoBERTa or DistilBERT configuration with a sequence-classification head
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether the layers recompute in backward
     * @throws IllegalArgumentException for another head or family, or a degree the model does not split over
     */
    public SequenceClassifier(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, HeadConfig.Task.SEQUENCE_CLASSIFICATION, checkpointActivations,
                SequenceHead.readsPooler(config));
        this.head = SequenceHead.of(config, rng());
        registerHead(head);
    }

    /** @return whether the head regresses one float per sequence */
    public boolean regression() {
        return config().head().problemType() == HeadConfig.ProblemType.REGRESSION;
    }

    /** Shapes: B batch, T sequence, C hidden, K labels. */
    @Override
    public ClassifierOutput forward(Tape tape, TokenBatch batch) {
        EncoderOutput encoded = encode(tape, batch);
        Var logits = head.logits(tape, encoded);                                                 // [B, K]
        NDArray labels = batch.sequenceLabels();
        if (labels == null) {
            return new ClassifierOutput(logits, null);
        }
        boolean mse = regression();
        Var loss = tape.apply1("cls.loss", false, (ctx, in) -> new NDList(mse
                ? ClassifierLoss.meanSquaredError(in.get(0).reshape(-1), in.get(1))
                : ClassifierLoss.crossEntropy(in.get(0), in.get(1))), logits, tape.constant(labels));
        return new ClassifierOutput(logits, loss);
    }

    /** {@code cls}: the classification or regression loss summed over labelled sequences. */
    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        long n = labelCounts(batch).get(CLS); // before the forward pass, which hands the batch to the tape
        NDArray labels = countCorrect && n > 0 && !regression() ? batch.sequenceLabels().duplicate() : null;
        ClassifierOutput out = forward(tape, batch);
        long hits = labels != null ? correct(tape, out.logits(), labels) : -1;
        return new LossTerms(List.of(term(tape, CLS, out.loss(), n, hits)));
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        NDArray labels = batch.sequenceLabels();
        counts.put(CLS, labels == null ? 0 : regression() ? batch.batchSize() : labelled(labels));
        return counts;
    }

    @Override
    protected String labelField() {
        return "sequenceLabels ([B], " + (regression() ? "floats" : "class ids") + ")";
    }

    @Override
    protected void checkLabels(NDManager scratch, TokenBatch batch) {
        if (batch.labels() != null) {
            throw new IllegalArgumentException("SequenceClassifier reads sequenceLabels [B]; the batch holds per-token labels"
                    + " [B, T] (a TokenClassifier's); move them to sequenceLabels");
        }
        NDArray labels = batch.sequenceLabels();
        if (labels == null) {
            return;
        }
        if (regression()) {
            if (!labels.getDataType().isFloating()) {
                throw new IllegalArgumentException("sequenceLabels is " + labels.getDataType() + "; regression (numLabels = 1)"
                        + " needs float targets; convert them, or use problem_type single_label_classification");
            }
        } else {
            checkClasses(scratch, "sequenceLabels", labels);
        }
    }
}
