package io.tessera.models.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ClassifierLoss;
import io.tessera.models.LossTerms;
import io.tessera.models.TokenBatch;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code BertForTokenClassification}, {@code RobertaForTokenClassification} and
 * {@code DistilBertForTokenClassification}: one prediction per token, the same head in every family,
 * <pre>
 *   logits = drop(H)·W_cᵀ + b_c                 H [B, T, C] → [B, T, K]
 *   loss   = CE(logits, labels)                 mean over labels ≠ -100 (padding is not ignored unless labelled -100)
 * </pre>
 * with drop = {@code classifier_dropout} else {@code hidden_dropout_prob} (BERT, RoBERTa), or
 * DistilBERT's {@code dropout}. Names: {@code classifier.{weight,bias}}; BERT's encoder has no pooler
 * here ({@code add_pooling_layer=False}). Loss term {@code tokens}: count = labelled tokens,
 * correct = arg-max right.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public final class TokenClassifier extends ClassifierModel {

    /** The name of the one loss term. */
    public static final String TOKENS = "tokens";

    private final Linear classifier;
    private final Dropout dropout;

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT, RoBERTa or DistilBERT configuration with a token-classification head
     * @param parallel this rank's parallel context
     */
    public TokenClassifier(TransformerConfig config, ParallelContext parallel) {
        this(config, parallel, false);
    }

    /**
     * Declares the model; allocates nothing.
     *
     * @param config a BERT, RoBERTa or DistilBERT configuration with a token-classification head
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether the layers recompute in backward
     * @throws IllegalArgumentException for another head or family, or a degree the model does not split over
     */
    public TokenClassifier(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        super(config, parallel, HeadConfig.Task.TOKEN_CLASSIFICATION, checkpointActivations, false);
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.classifier = register("classifier",
                new Linear(config.hiddenSize(), config.head().numLabels(), true, WeightLayout.OUT_IN, init));
        double p = config.architecture() == Architecture.DISTILBERT ? config.hiddenDropout()
                : SequenceHead.classifierDropout(config);
        this.dropout = new Dropout(p, Dropout.Region.REPLICATED, rng());
    }

    /** Shapes: B batch, T sequence, C hidden, K labels. */
    @Override
    public ClassifierOutput forward(Tape tape, TokenBatch batch) {
        Var h = encode(tape, batch).sequence();                                                  // [B, T, C]
        Var logits = tape.apply1("classifier", false,
                (ctx, in) -> new NDList(classifier.apply(ctx, dropout.apply(ctx, in.get(0), 0))), h);   // [B, T, K]
        if (batch.labels() == null) {
            return new ClassifierOutput(logits, null);
        }
        int k = numLabels();
        Var loss = tape.apply1("classifier.loss", false, (ctx, in) -> new NDList(
                ClassifierLoss.crossEntropy(in.get(0).reshape(-1, k), in.get(1).reshape(-1))), logits, tape.constant(batch.labels()));
        return new ClassifierOutput(logits, loss);
    }

    /** {@code tokens}: cross-entropy summed over labels that are not -100. */
    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect) {
        long n = labelCounts(batch).get(TOKENS); // before the forward pass, which hands the batch to the tape
        NDArray labels = countCorrect && n > 0 ? batch.labels().duplicate() : null;
        ClassifierOutput out = forward(tape, batch);
        long hits = labels != null ? correct(tape, out.logits(), labels) : -1;
        return new LossTerms(List.of(term(tape, TOKENS, out.loss(), n, hits)));
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put(TOKENS, batch.labels() == null ? 0 : labelled(batch.labels()));
        return counts;
    }

    @Override
    protected String labelField() {
        return "labels ([B, T] class ids, -100 where none)";
    }

    @Override
    protected void checkLabels(NDManager scratch, TokenBatch batch) {
        if (batch.sequenceLabels() != null) {
            throw new IllegalArgumentException("TokenClassifier reads per-token labels [B, T]; the batch holds sequenceLabels"
                    + " [B] (a SequenceClassifier's)");
        }
        if (batch.labels() != null) {
            checkClasses(scratch, "labels", batch.labels());
        }
    }
}
