package io.tessera.models.albert;

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
 * Hugging Face's {@code AlbertForSequenceClassification} head, on the pooler's output:
 * <pre>
 *   logits = drop(P)·W_cᵀ + b_c          [B, K]     P = tanh(pooler(H[:, 0])) from {@link AlbertEncoder}
 * </pre>
 * drop: {@code classifier_dropout_prob} (the head's {@code classifierDropout} when set). Names:
 * {@code classifier.*}.
 *
 * <p>Thread safety: not thread-safe; a head belongs to one rank's model.
 */
public final class AlbertSequenceHead extends SequenceHead {

    private final Linear classifier;
    private final Dropout dropout;

    /**
     * @param config an ALBERT configuration with a sequence-classification head
     * @param rng the model's dropout RNG tracker
     */
    public AlbertSequenceHead(TransformerConfig config, TensorParallelRng rng) {
        Initializer init = Initializer.normal((float) config.initializerRange());
        this.classifier = register("classifier",
                new Linear(config.hiddenSize(), config.head().numLabels(), true, WeightLayout.OUT_IN, init));
        this.dropout = new Dropout(SequenceHead.classifierDropout(config), Dropout.Region.REPLICATED, rng);
    }

    @Override
    public Var logits(Tape tape, EncoderOutput encoded) {
        return tape.apply1("classifier", false, (ctx, in) -> new NDList(classifier.apply(ctx, dropout.apply(ctx, in.get(0), 0))),
                encoded.pooled());
    }
}
