package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Rng;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.ParallelContext;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Vocabulary-parallel cross-entropy equals the full cross-entropy of the unpadded logits (value and
 * gradient), including ignored targets and a vocabulary the degree does not divide; the
 * vocabulary-parallel embedding and its tied output layer equal the plain lookup and product.
 */
class VocabParallelTest {

    static final int V = 10;
    static final int PADDED = 12;
    static final int N = 6;
    static final long[] TARGETS = {0, 9, -100, 4, 7, 3};
    /** Every row scored: the cross-entropy keeps all rows instead of dropping the unscored ones. */
    static final long[] ALL_SCORED = {0, 9, 2, 4, 7, 3};
    /** Most rows unscored, as under BERT's masking: only rows 1 and 4 are kept. */
    static final long[] MOSTLY_IGNORED = {-100, 9, -100, -100, 5, -100};

    /** Loss and d(loss)/d(logits) of plain PyTorch cross-entropy over the first V columns. */
    static float[][] reference() {
        return reference(TARGETS);
    }

    /** The same over given targets. */
    static float[][] reference(long[] targetIds) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.gradMode(true)) {
            NDArray full = Rng.normal(m, new Shape(N, PADDED), 0f, 3f, 11);
            NDArray z = full.get(new NDIndex(":, 0:" + V)).duplicate();
            z.setRequiresGradient(true);
            NDArray logp = z.logSoftmax(1);
            float loss = 0;
            int count = 0;
            NDArray total = null;
            for (int i = 0; i < N; i++) {
                if (targetIds[i] != -100) {
                    NDArray term = logp.get(i, targetIds[i]).neg();
                    total = total == null ? term : total.add(term);
                    count++;
                }
            }
            NDArray mean = total.div(m.full(new Shape(), count));  // a native scalar: see Scalars
            loss = mean.getFloat();
            JniUtils.backward((PtNDArray) mean, (PtNDArray) m.ones(new Shape()), false, false);
            NDArray grad = m.zeros(new Shape(N, PADDED));
            grad.set(new NDIndex(":, 0:" + V), z.getGradient());
            return new float[][] {{loss}, grad.toFloatArray()};
        }
    }

    /** Degrees 1, 2, 4, each with some rows ignored, none ignored, and most ignored. */
    static Stream<Arguments> degreesAndTargets() {
        return Stream.of(1, 2, 4).flatMap(p -> Stream.of(TARGETS, ALL_SCORED, MOSTLY_IGNORED)
                .map(t -> Arguments.of(p, t)));
    }

    @ParameterizedTest
    @MethodSource("degreesAndTargets")
    void crossEntropyEqualsFullCrossEntropyOfUnpaddedLogits(int p, long[] targetIds) {
        float[][] ref = reference(targetIds);
        List<float[][]> out = TpTesting.run(p, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                NDArray full = Rng.normal(m, new Shape(N, PADDED), 0f, 3f, 11);
                int w = PADDED / p;
                int r = pc.tensorRank();
                Var logits = tape.variable(full.get(new NDIndex(":, " + (r * w) + ":" + ((r + 1) * w))).duplicate());
                Var targets = tape.constant(m.create(targetIds));
                Var loss = VocabParallelCrossEntropy.apply(tape, pc.tensor(), "ce", logits, targets, V);
                tape.backward(loss);
                NDArray grad = RegionTensors.allGatherLastDim(pc.tensor(), m, logits.grad());
                return new float[][] {{loss.value().getFloat()}, grad.toFloatArray()};
            }
        });
        for (int r = 0; r < p; r++) {
            TpTesting.assertClose(ref[0], out.get(r)[0], 1e-6, "degree " + p + " rank " + r + " loss");
            TpTesting.assertClose(ref[1], out.get(r)[1], 1e-5, "degree " + p + " rank " + r + " logits gradient");
        }
    }

    @Test
    void crossEntropyRejectsTargetsOutsideTheVocabulary() {
        TpTesting.run(2, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                Var logits = tape.variable(m.zeros(new Shape(2, PADDED / 2)));
                Var targets = tape.constant(m.create(new long[] {1, V}));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> VocabParallelCrossEntropy.apply(tape, pc.tensor(), "ce", logits, targets, V));
                assertTrue(e.getMessage().contains("target " + V), e.getMessage());
                return 0;
            }
        });
    }

    @Test
    void crossEntropyOfOnlyIgnoredTargetsIsZero() {
        try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
            Var logits = tape.variable(Rng.normal(m, new Shape(3, V), 0f, 1f, 1));
            Var targets = tape.constant(m.create(new long[] {-100, -100, -100}));
            Var loss = VocabParallelCrossEntropy.apply(tape, ParallelContext.single().tensor(), "ce",
                    logits, targets, V);
            tape.backward(loss);
            assertEquals(0f, loss.value().getFloat());
            assertEquals(0f, logits.grad().abs().sum().getFloat());
        }
    }

    /** Lookup, tied logits and the table's gradient through both, gathered and stripped of padding. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void embeddingAndTiedLogitsMatchPlainLookupAndProduct(int p) {
        long[] ids = {0, 3, 9, 9, 5, 8};
        float[][] ref = TpTesting.run(1, pc -> {
            try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.gradMode(true)) {
                NDArray table = Initializer.normal(0.5f).full(m, new Shape(V, 4), 1234);
                table.setRequiresGradient(true);
                NDArray h = JniUtils.embedding((PtNDArray) m.create(ids), (PtNDArray) table, false);  // [N, 4]
                NDArray logits = h.matMul(table.transpose());                                          // [N, V]
                NDArray loss = logits.mul(Rng.normal(m, new Shape(N, V), 0f, 1f, 3)).sum();
                JniUtils.backward((PtNDArray) loss, (PtNDArray) m.ones(new Shape()), false, false);
                return new float[][] {h.toFloatArray(), logits.toFloatArray(), table.getGradient().toFloatArray()};
            }
        }).get(0);
        List<float[][]> out = TpTesting.run(p, pc -> {
            VocabParallelEmbedding emb = new VocabParallelEmbedding(pc, V, PADDED, 4, Initializer.normal(0.5f));
            ModuleHolder root = new ModuleHolder().add("wte", emb);
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, false)) {
                // Bind the table under a name whose seed is 1234, as the reference draws it.
                ParameterBuffer buf = ParameterBuffer.allocate(root, 0, m);
                Initializer padded = VocabParallelEmbedding.padRows(Initializer.normal(0.5f), V);
                NDArray full = padded.full(m, new Shape(PADDED, 4), 1234);
                Tensors.copyInto(emb.weight().data(),
                        ParameterBuffer.localSlice(full, emb.weight().partition()));
                Var h = emb.forward(tape, "wte", tape.constant(m.create(ids)));
                Var logits = emb.parallelLogits(tape, "lm_head", h, null);
                NDArray cot = Rng.normal(m, new Shape(N, V), 0f, 1f, 3)
                        .concat(m.zeros(new Shape(N, PADDED - V)), 1);
                int w = PADDED / p;
                int r = pc.tensorRank();
                tape.backward(logits, cot.get(new NDIndex(":, " + (r * w) + ":" + ((r + 1) * w))).duplicate());
                NDArray fullLogits = RegionTensors.allGatherLastDim(pc.tensor(), m, logits.value());
                NDArray grad = PartitionedTensors.gather(pc.tensor(), m, emb.weight().grad(), emb.weight().partition());
                float[][] res = {h.value().toFloatArray(), fullLogits.get(new NDIndex(":, 0:" + V)).toFloatArray(),
                        grad.get(new NDIndex("0:" + V)).toFloatArray(), grad.get(new NDIndex(V + ":")).toFloatArray()};
                buf.close();
                return res;
            }
        });
        for (int r = 0; r < p; r++) {
            String where = "degree " + p + " rank " + r;
            TpTesting.assertClose(ref[0], out.get(r)[0], 1e-6, where + " lookup");
            TpTesting.assertClose(ref[1], out.get(r)[1], 1e-5, where + " tied logits");
            TpTesting.assertClose(ref[2], out.get(r)[2], 1e-5, where + " table gradient");
            assertArrayEquals(new float[(PADDED - V) * 4], out.get(r)[3], where + ": padded rows must get no gradient");
        }
    }

    @Test
    void paddedRowsStartAtZeroAndRealRowsDoNotDependOnPadding() {
        try (NDManager m = NDManager.newBaseManager()) {
            Initializer init = Initializer.normal(0.02f);
            NDArray a = VocabParallelEmbedding.padRows(init, V).full(m, new Shape(V, 4), 5);
            NDArray b = VocabParallelEmbedding.padRows(init, V).full(m, new Shape(16, 4), 5);
            assertArrayEquals(a.toFloatArray(), b.get(new NDIndex("0:" + V)).toFloatArray());
            assertEquals(0f, b.get(new NDIndex(V + ":")).abs().sum().getFloat());
            assertEquals(DataType.FLOAT32, b.getDataType());
        }
    }
}
