package io.tessera.models;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.albert.AlbertForPreTraining;
import io.tessera.models.albert.AlbertOutput;
import io.tessera.models.config.AlbertShape;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.PartitionedTensors;
import io.tessera.parallel.tensor.TpTesting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tiny ALBERT configurations and per-degree runs shared by the ALBERT tests. */
final class AlbertTesting {

    private AlbertTesting() {}

    /**
     * albert-tiny (E 16, H 32, 4 depth steps) with 2 groups of 2 layers each, vocabulary 1001 (padded to
     * 1002 and 1004 at degrees 2 and 4), all dropouts off.
     */
    static TransformerConfig config() {
        return config(new AlbertShape(16, 2, 2, 0));
    }

    static TransformerConfig config(AlbertShape shape) {
        return Presets.get("albert-tiny").toBuilder().setVocabSize(ModelTesting.VOCAB).optMakeVocabSizeDivisibleBy(1)
                .optHiddenDropout(0).optAttentionDropout(0).optAlbert(shape).build();
    }

    /** BERT's test batch: ids, token types, padding, masked-LM labels and sentence-order labels {0, 1}. */
    static TokenBatch batch(NDManager m) {
        return ModelTesting.Kind.BERT.batch(m);
    }

    /** Loss, full logits and gathered gradients (Hugging Face layout) of one step of one rank. */
    static Result step(AlbertForPreTraining model, ParallelContext pc, NDManager m, TokenBatch batch) {
        try (Tape tape = new Tape(m, 99, true)) {
            AlbertOutput out = model.forward(tape, batch);
            float[] logits = model.gatherVocabLogits(tape, "gather", out.mlmLogits()).value().toFloatArray();
            tape.backward(out.loss());
            Map<String, float[]> grads = new LinkedHashMap<>();
            for (HfTensor t : model.hfTensors()) {
                Parameter p = t.parameter();
                grads.put(t.name(), t.layout().toHf(PartitionedTensors.gather(pc.tensor(), m, p.grad(), p.partition()))
                        .toFloatArray());
            }
            return new Result(out.loss().value().getFloat(), logits, grads);
        }
    }

    /** Builds, perturbs and steps the model on every rank of one tensor-parallel group. */
    static List<Result> run(TransformerConfig config, int degree, LocalCluster.Backend backend) {
        return TpTesting.run(degree, backend, pc -> {
            AlbertForPreTraining model = new AlbertForPreTraining(config, pc);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(model, ModelTesting.MODEL_SEED, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                return step(model, pc, m, batch(m));
            }
        });
    }
}
