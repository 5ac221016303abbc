package io.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Torch;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParameterBufferTest {

    static final class Encoder extends Module {
        final Layer layer0 = register("layer", new Layers(2)).get(0);
    }

    static final class Layers extends Module {
        private final List<Layer> list;

        Layers(int n) {
            list = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                list.add(register(String.valueOf(i), new Layer()));
            }
        }

        Layer get(int i) {
            return list.get(i);
        }
    }

    static final class Layer extends Module {
        final Parameter weight = register("weight", Parameter.of(new Shape(4, 3), Initializer.normal(0.02f)));
        final Parameter bias = register("bias", Parameter.of(new Shape(4), Partition.REPLICATED, Initializer.zeros(), false));
    }

    @Test
    void namesFollowTheModuleTreeAndSharedParametersAppearOnce() {
        Encoder e = new Encoder();
        assertEquals(List.of("layer.0.weight", "layer.0.bias", "layer.1.weight", "layer.1.bias"),
                List.copyOf(e.namedParameters().keySet()));
        assertTrue(!e.namedParameters().get("layer.0.bias").weightDecay());
    }

    @Test
    void viewsOfTheFlatBufferKeepTheirOwnGradientAndSeeInPlaceUpdates() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            Layer layer = new Layer();
            try (ParameterBuffer buf = ParameterBuffer.allocate(layer, 1, m)) {
                assertEquals(16, buf.numel());
                try (Tape tape = new Tape(m, 0, true)) {
                    Var x = tape.constant(m.ones(new Shape(2, 3)));
                    Var loss = tape.apply1("linear", false, (ctx, in) -> new NDList(
                            in.get(0).matMul(ctx.param(layer.weight).transpose()).add(ctx.param(layer.bias)).sum()), x);
                    tape.backward(loss);
                }
                // d/dW sum(x Wᵀ + b) = column sums of x = 2 everywhere; d/db = 2 (batch of two).
                assertArrayEquals(filled(12, 2f), layer.weight.grad().toFloatArray());
                assertArrayEquals(filled(4, 2f), layer.bias.grad().toFloatArray());
                assertArrayEquals(filled(16, 2f), buf.grads().toFloatArray(), "gradient views write into the flat buffer");
                buf.params().subi(buf.grads().mul(0.5f));
                float[] expected = buf.params().toFloatArray();
                float[] seen = layer.weight.data().toFloatArray();
                for (int i = 0; i < 12; i++) {
                    assertEquals(expected[i], seen[i], "an in-place update of the flat buffer is seen through the view");
                }
                assertArrayEquals(filled(4, -1f), layer.bias.data().toFloatArray());
            }
        }
    }

    @Test
    void initialisationIsSeededAndShardsGatherToTheUnsplitTensor() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            Shape full = new Shape(6, 4);
            final class One extends Module {
                final Parameter p;

                One(Partition part) {
                    p = register("weight", Parameter.of(full, part, Initializer.normal(1f), true));
                }
            }
            One whole = new One(Partition.REPLICATED);
            try (ParameterBuffer a = ParameterBuffer.allocate(whole, 42, m)) {
                One again = new One(Partition.REPLICATED);
                try (ParameterBuffer b = ParameterBuffer.allocate(again, 42, m)) {
                    assertEquals(whole.p.data(), again.p.data(), "same seed, same weights");
                }
                for (int dim = 0; dim < 2; dim++) {
                    NDArray[] parts = new NDArray[2];
                    for (int r = 0; r < 2; r++) {
                        One shard = new One(Partition.split(dim, r, 2));
                        ParameterBuffer sb = ParameterBuffer.allocate(shard, 42, m);
                        parts[r] = shard.p.data().duplicate();
                        parts[r].attach(m);
                        sb.close();
                    }
                    assertEquals(whole.p.data(), parts[0].concat(parts[1], dim), "shards along dim " + dim + " gather to the whole");
                }
            }
        }
    }

    @Test
    void unevenSplitIsRejectedWithTheNumbers() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Parameter.of(new Shape(5, 4), Partition.split(0, 0, 2), Initializer.zeros(), true));
        assertTrue(e.getMessage().contains("5 % 2"), e.getMessage());
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
