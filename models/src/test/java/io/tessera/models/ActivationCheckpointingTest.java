package io.tessera.models;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Activation checkpointing changes memory, not results: at degree 2 with dropout on, the loss and the
 * gradients equal those of the run that keeps every activation (the rerun draws the same masks).
 */
class ActivationCheckpointingTest {

    static float[][] lossAndGrads(Kind kind, boolean checkpoint) {
        TransformerConfig config = kind.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        List<float[][]> ranks = TpTesting.run(2, pc -> {
            TransformerModel model = config.architecture() == Architecture.GPT2 ? new Gpt2LmHeadModel(config, pc, checkpoint)
                    : new BertForPreTraining(config, pc, checkpoint);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m);
                 Tape tape = new Tape(m, 21, true)) {
                Var loss = model.loss(tape, kind.batch(m));
                tape.backward(loss);
                return new float[][] {{loss.value().getFloat()}, buf.grads().toFloatArray()};
            }
        });
        return ranks.get(0);
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MEGATRON_BERT", "GPT2"})
    void checkpointedLayersGiveTheSameLossAndGradients(Kind kind) {
        float[][] kept = lossAndGrads(kind, false);
        float[][] recomputed = lossAndGrads(kind, true);
        TpTesting.assertClose(kept[0], recomputed[0], 1e-6, kind + " loss with checkpointing");
        TpTesting.assertClose(kept[1], recomputed[1], 1e-6, kind + " gradients with checkpointing");
    }
}
