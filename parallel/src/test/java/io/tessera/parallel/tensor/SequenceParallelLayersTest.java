package io.tessera.parallel.tensor;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tensor-parallel layers with {@code optSequenceParallel(true)}, between a sequence scatter and a
 * gather to the replicated region, give at degrees 2 and 4 the degree-1 outputs, input gradients and
 * (gathered) parameter gradients, output biases included (added on the shards, their gradients summed
 * over the group). {@code T = 4}, so that both degrees divide it.
 */
class SequenceParallelLayersTest {

    private static final int T = 4;

    /** Wraps a block's forward between the sequence scatter and the gather. */
    private static ParallelLayersTest.Block sequenceParallel(ParallelContext pc, ModuleHolder root, Forward forward) {
        return new ParallelLayersTest.Block() {
            @Override
            public ModuleHolder root() {
                return root;
            }

            @Override
            public Var forward(Tape tape, Var x, Var mask) {
                Var shard = SequenceParallel.scatter(tape, pc.tensor(), "scatter", x);
                return SequenceParallel.gather(tape, pc.tensor(), "gather", forward.apply(tape, shard, mask));
            }
        };
    }

    /** A block's forward on a sequence shard. */
    private interface Forward {
        Var apply(Tape tape, Var shard, Var mask);
    }

    /** As {@link ParallelLayersTest#run}, with {@code T = 4} and the last position of the second sequence padded. */
    private static List<ParallelLayersTest.Run> run(int p, BiFunction<ParallelContext, Integer, ParallelLayersTest.Block> factory,
                                                    boolean masked) {
        int b = ParallelLayersTest.B;
        int c = ParallelLayersTest.C;
        return TpTesting.run(p, pc -> {
            ParallelLayersTest.Block block = factory.apply(pc, p);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(block.root(), 42, m);
                 Tape tape = new Tape(m, 7, false)) {
                Var x = tape.variable(Rng.normal(m, new Shape(b, T, c), 0f, 1f, 5));
                Var mask = masked ? tape.constant(m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, new Shape(b, T))) : null;
                Var y = block.forward(tape, x, mask);
                tape.backward(y, Rng.normal(m, y.value().getShape(), 0f, 1f, 6));
                Map<String, float[]> grads = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> e : buf.parameters().entrySet()) {
                    NDArray full = PartitionedTensors.gather(pc.tensor(), m, e.getValue().grad(), e.getValue().partition());
                    if (e.getKey().startsWith("c_attn")) {
                        full = FusedQkv.toHuggingFace(full, full.getShape().dimension() - 1, p);
                    }
                    grads.put(e.getKey(), full.toFloatArray());
                }
                return new ParallelLayersTest.Run(y.value().toFloatArray(), x.grad().toFloatArray(), grads);
            }
        });
    }

    private static void assertSameAsDegreeOne(BiFunction<ParallelContext, Integer, ParallelLayersTest.Block> factory, boolean masked) {
        ParallelLayersTest.Run reference = run(1, factory, masked).get(0);
        for (int p : new int[] {2, 4}) {
            List<ParallelLayersTest.Run> runs = run(p, factory, masked);
            for (int r = 0; r < p; r++) {
                ParallelLayersTest.Run got = runs.get(r);
                String where = "sequence-parallel degree " + p + " rank " + r;
                TpTesting.assertClose(reference.y(), got.y(), 1e-5, where + " output");
                TpTesting.assertClose(reference.dx(), got.dx(), 1e-5, where + " input gradient");
                TpTesting.assertGradientsClose(reference.grads(), got.grads(), 1e-5, where);
            }
        }
    }

    @Test
    void mlpWithBiasMatchesDegreeOne() {
        assertSameAsDegreeOne((pc, p) -> {
            ParallelMLP mlp = ParallelMLP.builder(pc, ParallelLayersTest.C, 4 * ParallelLayersTest.C).optActivation(Gelu.TANH)
                    .optSequenceParallel(true).build();
            ModuleHolder root = new ModuleHolder().add("fc", mlp.fc()).add("proj", mlp.proj());
            return sequenceParallel(pc, root, (tape, x, mask) -> mlp.forward(tape, "mlp", x));
        }, false);
    }

    @Test
    void columnThenRowParallelLinearMatchDegreeOne() {
        assertSameAsDegreeOne((pc, p) -> {
            int c = ParallelLayersTest.C;
            ColumnParallelLinear column = ColumnParallelLinear.builder(pc, c, 2 * c).optSequenceParallel(true)
                    .optWeightInitializer(Initializer.normal(0.5f)).optBiasInitializer(Initializer.normal(0.5f)).build();
            RowParallelLinear row = RowParallelLinear.builder(pc, 2 * c, c).optLayout(WeightLayout.IN_OUT).optSequenceParallel(true)
                    .optWeightInitializer(Initializer.normal(0.5f)).build();
            ModuleHolder root = new ModuleHolder().add("column", column).add("row", row);
            return sequenceParallel(pc, root, (tape, x, mask) -> {
                Var h = column.forward(tape, "column", x);
                Var bumped = tape.apply1("tanh", false, (ctx, in) -> new NDList(in.get(0).tanh()), h);
                return row.forward(tape, "row", bumped);
            });
        }, false);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void attentionWithMaskMatchesDegreeOne(boolean fused) {
        assertSameAsDegreeOne((pc, p) -> {
            ParallelSelfAttention attn = ParallelSelfAttention.builder(pc, ParallelLayersTest.C, ParallelLayersTest.HEADS)
                    .optFusedQkv(fused).optCausal(fused).optLayout(fused ? WeightLayout.IN_OUT : WeightLayout.OUT_IN)
                    .optInitializer(Initializer.normal(0.5f)).optOutputInitializer(Initializer.normal(0.5f))
                    .optSequenceParallel(true).build();
            ModuleHolder root = new ModuleHolder();
            if (fused) {
                root.add("c_attn", attn.fusedQkv());
            } else {
                root.add("query", attn.query()).add("key", attn.key()).add("value", attn.value());
            }
            root.add("out", attn.output());
            return sequenceParallel(pc, root, (tape, x, mask) -> attn.forward(tape, "attn", x, mask));
        }, true);
    }
}
