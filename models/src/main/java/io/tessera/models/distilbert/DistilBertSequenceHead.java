package io.tessera.models.distilbert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Activation;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.EncoderOutput;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.SequenceHead;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.WeightLayout;

/**
 * Hugging Face's {@code DistilBertForSequenceClassification} head, on the first token (no pooler):
 * <pre>
 *   x      = relu(H[:, 0]·W_pᵀ + b_p)              [B, C]
 *   logits = drop(x)·W_cᵀ + b_c                    [B, K]     drop: seq_classif_dropout (default 0.2)
 * </pre>
 * Names: {@code pre_classifier.*}, {@code classifier.*}.
 *
 * <p>Thread safety: not thread-safe; a head belongs to one rank's model.
 */
public final class DistilBertSequenceHead extends SequenceHead {

    /** Hugging Face's default {@code seq_classif_dropout}. */
    public static final double DEFAULT_SEQ_CLASSIF_DROPOUT = 0.2;

    private final Linear preClassifier;
    private final Linear classifier;
    private final Dropout dropout;

    /**
     * @param config a DistilBERT configuration with a sequence-classification head
     * @param rng the model's dropout RNG tracker
     */
    public DistilBertSequenceHead(TransformerConfig config, TensorParallelRng rng) {
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.preClassifier = register("pre_classifier", new Linear(h, h, true, WeightLayout.OUT_IN, init));
        this.classifier = register("classifier", new Linear(h, config.head().numLabels(), true, WeightLayout.OUT_IN, init));
        Double p = config.head().classifierDropout();
        this.dropout = new Dropout(p != null ? p : DEFAULT_SEQ_CLASSIF_DROPOUT, Dropout.Region.REPLICATED, rng);
    }

    @Override
    public Var logits(Tape tape, EncoderOutput encoded) {
        return tape.apply1("classifier", false, (ctx, in) -> {
            NDArray first = in.get(0).get(new NDIndex(":, 0, :"));                              // [B, C]
            NDArray x = Activation.relu(preClassifier.apply(ctx, first));
            return new NDList(classifier.apply(ctx, dropout.apply(ctx, x, 0)));                  // [B, K]
        }, encoded.sequence());
    }
}
