package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.models.heads.ClassifierOutput;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.PartitionedTensors;
import io.tessera.parallel.tensor.TpTesting;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** Tiny task-head configurations and batches on {@link ModelTesting}'s encoders, and per-degree runs. */
final class HeadTesting {

    private HeadTesting() {}

    /** The heads under test. */
    enum Head {
        SEQUENCE, REGRESSION, TOKEN;

        HeadConfig config() {
            HeadConfig h = switch (this) {
                case SEQUENCE -> HeadConfig.sequenceClassification(List.of("neg", "neutral", "pos"));
                case REGRESSION -> HeadConfig.sequenceClassification(List.of("score"));
                case TOKEN -> HeadConfig.tokenClassification(List.of("O", "B-PER", "I-PER"));
            };
            return h.withClassifierDropout(0.0);
        }
    }

    /** Every encoder family with every head. */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Kind kind : new Kind[] {Kind.BERT, Kind.MEGATRON_BERT, Kind.ROBERTA, Kind.DISTILBERT, Kind.ALBERT}) {
            for (Head head : Head.values()) {
                out.add(Arguments.of(kind, head));
            }
        }
        return out.stream();
    }

    static TransformerConfig config(Kind kind, Head head) {
        return kind.config().toBuilder().optHead(head.config()).build();
    }

    /** {@link Kind#batch}'s tokens with the head's labels instead of the pre-training ones. */
    static TokenBatch batch(Kind kind, Head head, NDManager m) {
        TokenBatch b = kind.batch(m);
        int n = ModelTesting.B;
        int t = ModelTesting.T;
        NDArray labels = null;
        NDArray sequence = null;
        if (head == Head.TOKEN) {
            long[] l = new long[n * t];
            long[] mask = b.attentionMask().toLongArray();
            for (int i = 0; i < l.length; i++) {
                l[i] = mask[i] == 0 || i % 5 == 2 ? -100 : i % 3;
            }
            labels = m.create(l, new Shape(n, t));
        } else if (head == Head.SEQUENCE) {
            sequence = m.create(new long[] {2, 0});
        } else {
            sequence = m.create(new float[] {0.5f, -1.25f});
        }
        return new TokenBatch(b.inputIds(), b.tokenTypeIds(), b.attentionMask(), labels, null, sequence);
    }

    /** Builds, perturbs and steps a classifier on every rank of one tensor-parallel group. */
    static List<ModelTesting.Result> run(Kind kind, Head head, int degree) {
        TransformerConfig config = config(kind, head);
        return TpTesting.run(degree, pc -> {
            TransformerModel model = TransformerModel.of(config, pc);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(model, ModelTesting.MODEL_SEED, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                return step((ClassifierModel) model, pc, m, batch(kind, head, m));
            }
        });
    }

    /** Loss, replicated logits and gathered gradients in Hugging Face layout, of one rank. */
    static ModelTesting.Result step(ClassifierModel model, ParallelContext pc, NDManager m, TokenBatch batch) {
        try (Tape tape = new Tape(m, 99, true)) {
            ClassifierOutput out = model.forward(tape, batch);
            float[] logits = out.logits().value().toType(DataType.FLOAT32, false).toFloatArray();
            tape.backward(out.loss());
            Map<String, float[]> grads = new LinkedHashMap<>();
            for (HfTensor t : model.hfTensors()) {
                Parameter p = t.parameter();
                grads.put(t.name(), t.layout().toHf(PartitionedTensors.gather(pc.tensor(), m, p.grad(), p.partition()))
                        .toFloatArray());
            }
            return new ModelTesting.Result(out.loss().value().getFloat(), logits, grads);
        }
    }
}
