package io.tessera.benchmarks.ceiling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Tensors;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * {@link GemmLinear} on the tape gives the outputs and gradients of the same linear layer differentiated
 * by libtorch's autograd, with either backend.
 */
class GemmLinearTest {

    static final class Layer extends Module {
        final Parameter w = register("weight", Parameter.of(new Shape(6, 10), Initializer.normal(0.3f)));
        final Parameter b = register("bias", Parameter.of(new Shape(6), Initializer.normal(0.1f)));
    }

    /** Output, weight gradient, bias gradient and input gradient of {@code sum((x·Wᵀ + b)²)}. */
    static List<NDArray> run(Layer layer, ParameterBuffer buffer, NDArray x, NDManager out,
                             BiFunction<Tape, Var, Var> linear) {
        buffer.zeroGrad();
        try (Tape tape = new Tape(out, 7, true)) {
            Var in = tape.variable(x);
            Var y = linear.apply(tape, in);
            Var loss = tape.apply1("loss", false, (ctx, l) -> new NDList(l.get(0).square().sum()), y);
            tape.backward(loss);
            NDArray yv = y.value().duplicate();
            NDArray dx = in.grad().duplicate();
            yv.attach(out);
            dx.attach(out);
            return List.of(yv, layer.w.grad().duplicate(), layer.b.grad().duplicate(), dx);
        }
    }

    @Test
    void matchesAutogradWithBothBackends() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Layer layer = new Layer();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(layer, 3, m)) {
                NDArray x = Rng.normal(m, new Shape(2, 4, 10), 0f, 1f, 11);
                List<NDArray> expected = run(layer, buffer, x, m, (tape, in) -> tape.apply1("linear", false,
                        (ctx, l) -> new NDList(l.get(0).matMul(ctx.param(layer.w).transpose()).add(ctx.param(layer.b))), in));
                for (Gemm g : List.of(new LibtorchGemm(), new OpenBlasGemm(), MeasuredGemm.ofDefaults())) {
                    List<NDArray> got = run(layer, buffer, x, m, (tape, in) -> tape.call1("linear", new GemmLinear(layer.w, layer.b, g), in));
                    for (int i = 0; i < expected.size(); i++) {
                        double err = Tensors.maxRelativeDifference(got.get(i).toType(DataType.FLOAT64, false),
                                expected.get(i).toType(DataType.FLOAT64, false));
                        assertTrue(err < 1e-5, g.name() + " tensor " + i + " (y, dW, db, dx) differs by " + err);
                    }
                }
            }
        }
    }
}
