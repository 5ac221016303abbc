package io.tessera.models.roberta;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.nn.Initializer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.EncoderOutput;
import io.tessera.models.ModuleGroup;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.SequenceHead;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.WeightLayout;

/**
 * Hugging Face's {@code RobertaClassificationHead}, on the {@code <s>} token (RoBERTa has no pooler):
 * <pre>
 *   x      = tanh(drop(H[:, 0])·W_dᵀ + b_d)        [B, C]
 *   logits = drop(x)·W_oᵀ + b_o                    [B, K]     drop: classifier_dropout, else hidden_dropout_prob
 * </pre>
 * Names: {@code classifier.dense.*}, {@code classifier.out_proj.*}.
 *
 * <p>Thread safety: not thread-safe; a head belongs to one rank's model.
 */
public final class RobertaClassificationHead extends SequenceHead {

    private final Linear dense;
    private final Linear outProj;
    private final Dropout dropout;

    /**
     * @param config a RoBERTa configuration with a sequence-classification head
     * @param rng the model's dropout RNG tracker
     */
    public RobertaClassificationHead(TransformerConfig config, TensorParallelRng rng) {
        int h = config.hiddenSize();
        Initializer init = Initializer.normal((float) config.initializerRange());
        ModuleGroup classifier = register("classifier", new ModuleGroup());
        this.dense = classifier.add("dense", new Linear(h, h, true, WeightLayout.OUT_IN, init));
        this.outProj = classifier.add("out_proj", new Linear(h, config.head().numLabels(), true, WeightLayout.OUT_IN, init));
        this.dropout = new Dropout(classifierDropout(config), Dropout.Region.REPLICATED, rng);
    }

    @Override
    public Var logits(Tape tape, EncoderOutput encoded) {
        return tape.apply1("classifier", false, (ctx, in) -> {
            NDArray first = in.get(0).get(new NDIndex(":, 0, :"));                              // [B, C]
            NDArray x = dense.apply(ctx, dropout.apply(ctx, first, 0)).tanh();
            return new NDList(outProj.apply(ctx, dropout.apply(ctx, x, 1)));                     // [B, K]
        }, encoded.sequence());
    }
}
