package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;

import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.TpTesting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * BERT (post-LN), Megatron-BERT (pre-LN), GPT-2, RoBERTa and DistilBERT at tensor-parallel degrees 2 and 4 (ranks in one JVM
 * talking over the Netty backend) give the degree-1 loss (≤ 1e-5 relative), logits and gathered gradients
 * (≤ 1e-4 relative), with a vocabulary of 1001 that neither degree divides (padded to 1002 and 1004,
 * padding masked out of the softmax).
 */
class TensorParallelEquivalenceTest {

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = "ALBERT", mode = EnumSource.Mode.EXCLUDE)
    void degreesTwoAndFourMatchDegreeOne(Kind kind) {
        TransformerConfig config = kind.config();
        assertEquals(1001, config.paddedVocabSize(1));
        assertEquals(1004, config.paddedVocabSize(4));
        Result reference = ModelTesting.run(kind, config, 1).get(0);
        assertTrue(reference.loss() > 1 && Float.isFinite(reference.loss()), "loss " + reference.loss());
        for (int degree : new int[] {2, 4}) {
            List<Result> ranks = ModelTesting.run(kind, config, degree, LocalCluster.Backend.NETTY);
            for (int r = 0; r < degree; r++) {
                Result got = ranks.get(r);
                String where = kind + " degree " + degree + " rank " + r;
                TpTesting.assertClose(new float[] {reference.loss()}, new float[] {got.loss()}, 1e-5, where + " loss");
                TpTesting.assertClose(reference.logits(), got.logits(), 1e-5, where + " logits");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
            }
        }
    }

    /**
     * With dropout on, replicated activations draw the same masks on every rank, so the replicated
     * parameters' local gradients are identical across the group, and the same step seed repeats the
     * same loss.
     */
    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"BERT", "GPT2", "ROBERTA", "DISTILBERT"})
    void dropoutKeepsReplicasIdentical(Kind kind) {
        TransformerConfig config = kind.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        List<Map<String, float[]>> ranks = TpTesting.run(2, pc -> {
            TransformerModel model = kind.model(config, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                TokenBatch batch = kind.batch(m);
                Map<String, float[]> out = new LinkedHashMap<>();
                float[] losses = new float[3];
                for (int i = 0; i < 3; i++) {
                    buf.zeroGrad();
                    try (Tape tape = new Tape(m, i < 2 ? 42 : 43, true)) {
                        var loss = model.loss(tape, batch);
                        tape.backward(loss);
                        losses[i] = loss.value().getFloat();
                    }
                }
                out.put("losses", losses);
                buf.parameters().forEach((name, p) -> {
                    if (p.partition().replicated()) {
                        out.put(name, p.grad().toFloatArray());
                    }
                });
                return out;
            }
        });
        float[] losses = ranks.get(0).get("losses");
        assertEquals(losses[0], losses[1], "same step seed, same dropout masks, same loss");
        assertNotEquals(losses[0], losses[2], "another step seed draws other masks");
        for (String name : ranks.get(0).keySet()) {
            assertArrayEquals(ranks.get(0).get(name), ranks.get(1).get(name), kind + ": " + name + " differs between tp ranks");
        }
    }
}
