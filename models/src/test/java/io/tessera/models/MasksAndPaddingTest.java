package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.models.roberta.RobertaForMaskedLM;
import io.tessera.parallel.tensor.TpTesting;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Masks at model level (GPT-2 position t never sees t+1; BERT padding tokens change no other position;
 * RoBERTa gives a sequence the same outputs padded on either side as unpadded), and vocabulary padding: Megatron's padding to a multiple of 128·p leaves loss and gradients those of
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
    @EnumSource(value = Kind.class, names = {"BERT", "GPT2", "ROBERTA", "DISTILBERT"})
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

    @Test
    void robertaPositionIdsSkipThePaddingId() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.create(new long[] {5, 6, 7, 1, 1, 1, 1, 5, 6, 7}, new Shape(2, 5));
            long[] got = RobertaForMaskedLM.positionIds(ids, 1).toLongArray();
            assertArrayEquals(new long[] {2, 3, 4, 1, 1, 1, 1, 2, 3, 4}, got, "pad + cumsum(ids != pad) * (ids != pad)");
            long[] pad0 = RobertaForMaskedLM.positionIds(m.create(new long[] {0, 9, 9, 0}, new Shape(1, 4)), 0).toLongArray();
            assertArrayEquals(new long[] {0, 1, 2, 0}, pad0);
        }
    }

    /**
     * A 5-token sequence batched with an 8-token one, padded on the right or on the left, gives the
     * sequence output and logits it has alone and unpadded: attention masks the pads, and its position
     * ids count only its tokens.
     */
    @Test
    void robertaPaddedSequenceGivesItsUnpaddedOutputs() {
        assertEquals(1, Kind.ROBERTA_PAD);
        int[] shortRow = {21, 22, 23, 24, 25};
        int[] right = {11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 1, 1, 1};
        int[] left = {11, 12, 13, 14, 15, 16, 17, 18, 1, 1, 1, 21, 22, 23, 24, 25};
        int[] rightMask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
        int[] leftMask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1};
        TransformerConfig config = Kind.ROBERTA.config();
        int c = config.hiddenSize();
        float[][][] out = TpTesting.run(2, pc -> {
            RobertaForMaskedLM model = new RobertaForMaskedLM(config, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 3, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                return new float[][][] {
                    roberta(model, TokenBatch.of(m, 1, 5, shortRow, null, null, null, null)),
                    roberta(model, TokenBatch.of(m, 2, 8, right, null, rightMask, null, null)),
                    roberta(model, TokenBatch.of(m, 2, 8, left, null, leftMask, null, null))};
            }
        }).get(0);
        for (int t = 0; t < 5; t++) {
            float[] alone = Arrays.copyOfRange(out[0][0], t * c, (t + 1) * c);
            float[] aloneLogits = Arrays.copyOfRange(out[0][1], t * V, (t + 1) * V);
            int r = 8 + t;
            int l = 8 + 3 + t;
            TpTesting.assertClose(alone, Arrays.copyOfRange(out[1][0], r * c, (r + 1) * c), 1e-5, "right-padded, position " + t);
            TpTesting.assertClose(alone, Arrays.copyOfRange(out[2][0], l * c, (l + 1) * c), 1e-5, "left-padded, position " + t);
            TpTesting.assertClose(aloneLogits, Arrays.copyOfRange(out[1][1], r * V, (r + 1) * V), 1e-5,
                    "right-padded logits, position " + t);
            TpTesting.assertClose(aloneLogits, Arrays.copyOfRange(out[2][1], l * V, (l + 1) * V), 1e-5,
                    "left-padded logits, position " + t);
        }
    }

    /** Sequence output and gathered logits of one forward pass. */
    private static float[][] roberta(RobertaForMaskedLM model, TokenBatch batch) {
        try (Tape tape = new Tape(batch.inputIds().getManager(), 1, false, false)) {
            MaskedLmOutput o = model.forward(tape, batch);
            return new float[][] {o.sequenceOutput().value().toFloatArray(),
                model.gatherVocabLogits(tape, "logits", o.logits()).value().toFloatArray()};
        }
    }

    private static float[] slice(float[] y, int row, int t, int width) {
        int at = (row * ModelTesting.T + t) * width;
        return Arrays.copyOfRange(y, at, at + width);
    }
}
