package io.tessera.models.bert;

import ai.djl.ndarray.NDList;
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
 * Hugging Face's {@code BertForSequenceClassification} head on the pooler:
 * <pre>
 *   logits = drop(P)·W_cᵀ + b_c          P [B, C] → [B, K]      drop: classifier_dropout, else hidden_dropout_prob
 * </pre>
 * Names: {@code classifier.{weight,bias}}.
 *
 * <p>Thread safety: not thread-safe; a head belongs to one rank's model.
 */
public final class BertSequenceHead extends SequenceHead {

    private final Linear classifier;
    private final Dropout dropout;

    /**
     * @param config a BERT configuration with a sequence-classification head
     * @param rng the model's dropout RNG tracker
     */
    public BertSequenceHead(TransformerConfig config, TensorParallelRng rng) {
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.classifier = register("classifier",
                new Linear(config.hiddenSize(), config.head().numLabels(), true, WeightLayout.OUT_IN, init));
        this.dropout = new Dropout(classifierDropout(config), Dropout.Region.REPLICATED, rng);
    }

    @Override
    public Var logits(Tape tape, EncoderOutput encoded) {
        return tape.apply1("classifier", false,
                (ctx, in) -> new NDList(classifier.apply(ctx, dropout.apply(ctx, in.get(0), 0))), encoded.pooled());
    }
}
