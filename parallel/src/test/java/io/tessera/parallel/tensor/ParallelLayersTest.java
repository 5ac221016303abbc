package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.ParallelContext;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The MLP and self-attention blocks at degrees 2 and 4 give the degree-1 outputs and, gathered, the
 * degree-1 gradients; attention honours the causal and padding masks.
 */
class ParallelLayersTest {

    static final int B = 2;
    static final int T = 5;
    static final int C = 8;
    static final int HEADS = 4;

    /** Output, input gradient and gathered parameter gradients of one rank. */
    record Run(float[] y, float[] dx, Map<String, float[]> grads) {}

    /** Builds a block's root module and its forward. */
    interface Block {
        ModuleHolder root();

        Var forward(Tape tape, Var x, Var mask);
    }

    static List<Run> run(int p, BiFunction<ParallelContext, Integer, Block> factory, boolean masked) {
        return TpTesting.run(p, pc -> {
            Block block = factory.apply(pc, p);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(block.root(), 42, m);
                 Tape tape = new Tape(m, 7, false)) {
                Var x = tape.variable(Rng.normal(m, new Shape(B, T, C), 0f, 1f, 5));
                Var mask = masked ? tape.constant(m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(B, T))) : null;
                Var y = block.forward(tape, x, mask);
                tape.backward(y, Rng.normal(m, y.value().getShape(), 0f, 1f, 6));
                Map<String, float[]> grads = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> e : buf.parameters().entrySet()) {
                    NDArray full = PartitionedTensors.gather(pc.tensor(), m, e.getValue().grad(),
                            e.getValue().partition());
                    if (e.getKey().startsWith("c_attn")) {
                        full = FusedQkv.toHuggingFace(full, full.getShape().dimension() - 1, p);
                    }
                    grads.put(e.getKey(), full.toFloatArray());
                }
                return new Run(y.value().toFloatArray(), x.grad().toFloatArray(), grads);
            }
        });
    }

    static void assertSameAsDegreeOne(BiFunction<ParallelContext, Integer, Block> factory, boolean masked) {
        Run reference = run(1, factory, masked).get(0);
        for (int p : new int[] {2, 4}) {
            List<Run> runs = run(p, factory, masked);
            for (int r = 0; r < p; r++) {
                Run got = runs.get(r);
                String where = "degree " + p + " rank " + r;
                TpTesting.assertClose(reference.y(), got.y(), 1e-5, where + " output");
                TpTesting.assertClose(reference.dx(), got.dx(), 1e-4, where + " input gradient");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-4, where);
            }
        }
    }

    static Block mlp(ParallelContext pc, int p) {
        ParallelMLP mlp = ParallelMLP.builder(pc, C, 4 * C).optActivation(Gelu.TANH).build();
        ModuleHolder root = new ModuleHolder().add("fc", mlp.fc()).add("proj", mlp.proj());
        return new Block() {
            @Override
            public ModuleHolder root() {
                return root;
            }

            @Override
            public Var forward(Tape tape, Var x, Var mask) {
                return mlp.forward(tape, "mlp", x);
            }
        };
    }

    /** Column-parallel with a gathered output, then row-parallel that scatters its replicated input. */
    static Block gatherThenScatter(ParallelContext pc, int p) {
        ColumnParallelLinear column = ColumnParallelLinear.builder(pc, C, 2 * C).optGatherOutput(true)
                .optWeightInitializer(Initializer.normal(0.5f)).build();
        RowParallelLinear row = RowParallelLinear.builder(pc, 2 * C, C).optInputIsParallel(false).optLayout(WeightLayout.IN_OUT)
                .optWeightInitializer(Initializer.normal(0.5f)).build();
        ModuleHolder root = new ModuleHolder().add("column", column).add("row", row);
        return new Block() {
            @Override
            public ModuleHolder root() {
                return root;
            }

            @Override
            public Var forward(Tape tape, Var x, Var mask) {
                Var h = column.forward(tape, "column", x);
                Var bumped = tape.apply1("tanh", false, (ctx, in) -> new NDList(in.get(0).tanh()), h);
                return row.forward(tape, "row", bumped);
            }
        };
    }

    static Block attention(ParallelContext pc, boolean fused, boolean causal) {
        ParallelSelfAttention attn = ParallelSelfAttention.builder(pc, C, HEADS).optFusedQkv(fused).optCausal(causal)
                .optLayout(fused ? WeightLayout.IN_OUT : WeightLayout.OUT_IN).optInitializer(Initializer.normal(0.5f))
                .optOutputInitializer(Initializer.normal(0.5f)).build();
        ModuleHolder root = new ModuleHolder();
        if (fused) {
            root.add("c_attn", attn.fusedQkv());
        } else {
            root.add("query", attn.query()).add("key", attn.key()).add("value", attn.value());
        }
        root.add("out", attn.output());
        return new Block() {
            @Override
            public ModuleHolder root() {
                return root;
            }

            @Override
            public Var forward(Tape tape, Var x, Var mask) {
                return attn.forward(tape, "attn", x, mask);
            }
        };
    }

    @Test
    void mlpMatchesDegreeOne() {
        assertSameAsDegreeOne(ParallelLayersTest::mlp, false);
    }

    @Test
    void gatheredColumnAndScatteredRowMatchDegreeOne() {
        assertSameAsDegreeOne(ParallelLayersTest::gatherThenScatter, false);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void attentionWithSeparateProjectionsMatchesDegreeOne(boolean causal) {
        assertSameAsDegreeOne((pc, p) -> attention(pc, false, causal), true);
    }

    @Test
    void fusedCausalAttentionMatchesDegreeOne() {
        assertSameAsDegreeOne((pc, p) -> attention(pc, true, true), true);
    }

    /** Output of the attention block for two inputs that differ only where {@code changed} is true. */
    static float[][] outputsWithChangedInput(int p, boolean causal, boolean[][] changed) {
        return TpTesting.run(p, pc -> {
            Block block = attention(pc, p == 1, causal);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(block.root(), 3, m);
                 Tape tape = new Tape(m, 7, false, false)) {
                NDArray x = Rng.normal(m, new Shape(B, T, C), 0f, 1f, 5);
                NDArray noise = Rng.normal(m, new Shape(B, T, C), 0f, 10f, 9);
                float[] flags = new float[B * T];
                for (int b = 0; b < B; b++) {
                    for (int t = 0; t < T; t++) {
                        flags[b * T + t] = changed[b][t] ? 1 : 0;
                    }
                }
                NDArray x2 = x.add(noise.mul(m.create(flags, new Shape(B, T, 1))));
                Var mask = tape.constant(m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(B, T)));
                float[] y1 = block.forward(tape, tape.constant(x), mask).value().toFloatArray();
                float[] y2 = block.forward(tape, tape.constant(x2), mask).value().toFloatArray();
                return new float[][] {y1, y2};
            }
        }).get(0);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void positionTNeverSeesTPlusOne(int p) {
        boolean[][] future = {{false, false, false, true, true}, {false, false, false, true, true}};
        float[][] y = outputsWithChangedInput(p, true, future);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                float[] a = slice(y[0], b, t);
                float[] c = slice(y[1], b, t);
                if (t < 3) {
                    assertArrayEquals(a, c, "causal attention: position " + t + " of row " + b + " changed with tokens 3 and 4");
                } else {
                    assertTrue(!Arrays.equals(a, c), "position " + t + " must see its own token");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void paddingTokensDoNotChangeOtherPositions(int p) {
        boolean[][] padding = {{false, false, false, false, false}, {false, false, false, true, true}};
        float[][] y = outputsWithChangedInput(p, false, padding);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                if (!padding[b][t]) {
                    assertArrayEquals(slice(y[0], b, t), slice(y[1], b, t), "row " + b + " position " + t
                            + " changed when only padding tokens changed");
                }
            }
        }
    }

    private static float[] slice(float[] y, int b, int t) {
        return Arrays.copyOfRange(y, (b * T + t) * C, (b * T + t + 1) * C);
    }
}
