package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.parallel.tensor.TpTesting;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Masks at model level (GPT-2 position t never sees t+1; BERT padding tokens change no other position),
 * and vocabulary padding: Megatron's padding to a multiple of 128·p leaves loss and gradients those of
 * the unpadded model.
 */
class MasksAndPaddingTest {

    static final int V = ModelTesting.VOCAB;

    /** Full logits (GPT-2) or sequence output (BERT) at degree 2 for two id arrays. */
    static float[][] outputs(Kind kind, int[] ids1, int[] ids2, int[] mask) {
        return TpTesting.run(2, pc -> {
            TransformerModel model = kind.model(kind.config(), pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 3, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                float[][] out = new float[2][];
                int[][] all = {ids1, ids2};
                for (int i = 0; i < 2; i++) {
                    try (Tape tape = new Tape(m, 1, false, false)) {
                        TokenBatch batch = TokenBatch.of(m, ModelTesting.B, ModelTesting.T, all[i], null, mask, null, null);
                        if (model instanceof Gpt2LmHeadModel g) {
                            out[i] = model.gatherVocabLogits(tape, "logits", g.forward(tape, batch).logits()).value().toFloatArray();
                        } else {
                            out[i] = ((BertForPreTraining) model).forward(tape, batch).sequenceOutput().value().toFloatArray();
                        }
                    }
                }
                return out;
            }
        }).get(0);
    }

    static int[] ids() {
        int[] ids = new int[ModelTesting.B * ModelTesting.T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 31 + 7) % V;
        }
        return ids;
    }

    @Test
    void gpt2PositionTNeverSeesTPlusOne() {
        int[] a = ids();
        int[] b = a.clone();
        int t = 5;
        for (int row = 0; row < ModelTesting.B; row++) {
            for (int j = t; j < ModelTesting.T; j++) {
                b[row * ModelTesting.T + j] = (a[row * ModelTesting.T + j] + 500) % V;
            }
        }
        float[][] y = outputs(Kind.GPT2, a, b, null);
        for (int row = 0; row < ModelTesting.B; row++) {
            for (int j = 0; j < ModelTesting.T; j++) {
                float[] ya = slice(y[0], row, j, V);
                float[] yb = slice(y[1], row, j, V);
                if (j < t) {
                    TpTesting.assertClose(ya, yb, 1e-6, "GPT-2 logits at position " + j + " after changing tokens " + t + "..");
                } else {
                    assertTrue(!Arrays.equals(ya, yb), "position " + j + " must see its own token");
                }
            }
        }
    }

    @Test
    void bertPaddingTokensChangeNoOtherPosition() {
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
        int[] a = ids();
        int[] b = a.clone();
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] == 0) {
                b[i] = (a[i] + 321) % V;
            }
        }
        float[][] y = outputs(Kind.BERT, a, b, mask);
        int c = Kind.BERT.config().hiddenSize();
        for (int row = 0; row < ModelTesting.B; row++) {
            for (int j = 0; j < ModelTesting.T; j++) {
                if (mask[row * ModelTesting.T + j] == 1) {
                    TpTesting.assertClose(slice(y[0], row, j, c), slice(y[1], row, j, c), 1e-6,
                            "BERT output at row " + row + " position " + j + " after changing padding tokens");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"BERT", "GPT2"})
    void paddedVocabularyGivesTheUnpaddedLossAndGradients(Kind kind) {
        TransformerConfig unpadded = kind.config();
        TransformerConfig padded = unpadded.toBuilder().optMakeVocabSizeDivisibleBy(128).build();
        assertEquals(1024, padded.paddedVocabSize(1));
        assertEquals(1024, padded.paddedVocabSize(4));
        Result reference = ModelTesting.run(kind, unpadded, 1).get(0);
        for (int degree : new int[] {1, 4}) {
            Result got = ModelTesting.run(kind, padded, degree).get(0);
            String where = kind + " padded to " + padded.paddedVocabSize(degree) + " at degree " + degree;
            TpTesting.assertClose(new float[] {reference.loss()}, new float[] {got.loss()}, 1e-5, where + " loss");
            TpTesting.assertClose(reference.logits(), got.logits(), 1e-5, where + " logits");
            TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
        }
    }

    private static float[] slice(float[] y, int row, int t, int width) {
        int at = (row * ModelTesting.T + t) * width;
        return Arrays.copyOfRange(y, at, at + width);
    }
}
