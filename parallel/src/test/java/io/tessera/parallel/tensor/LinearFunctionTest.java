package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Tensors;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.LibtorchGemm;
import io.tessera.core.gemm.MeasuredGemm;
import io.tessera.core.gemm.OpenBlasGemm;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.ParameterAccess;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * {@link LinearFunction} on the tape gives the outputs and gradients of the same linear layer
 * differentiated by libtorch's autograd: both weight layouts, with and without bias, every backend, and
 * with the weight gradient written in place or handed to the parameter access.
 */
class LinearFunctionTest {

    static final class Layer extends Module {
        final Parameter w;
        final Parameter b = register("bias", Parameter.of(new Shape(6), Initializer.normal(0.1f)));

        Layer(WeightLayout layout) {
            w = register("weight", Parameter.of(new Shape(layout == WeightLayout.OUT_IN ? new long[] {6, 10} : new long[] {10, 6}),
                    Initializer.normal(0.3f)));
        }
    }

    /** A parameter access that offers no in-place gradient target (as ZeRO stages 2 and 3). */
    static final ParameterAccess NO_TARGET = new ParameterAccess() {
        @Override
        public NDArray acquire(Parameter p, NDManager scratch) {
            return p.data();
        }

        @Override
        public void accumulateGradient(Parameter p, NDArray grad) {
            p.grad().addi(grad);
        }

        @Override
        public void release(Parameter p) {}
    };

    /** Output, weight gradient, bias gradient and input gradient of {@code sum(y²)}, x used twice. */
    static List<NDArray> run(Layer layer, ParameterBuffer buffer, NDArray x, NDManager out, ParameterAccess access,
                             BiFunction<Tape, Var, Var> linear) {
        buffer.zeroGrad();
        try (Tape tape = new Tape(out, 7, true)) {
            tape.parameterAccess(access);
            Var in = tape.variable(x);
            Var y = linear.apply(tape, in);
            Var y2 = linear.apply(tape, in);   // the weight gradient accumulates over two uses
            Var loss = tape.apply1("loss", false, (ctx, l) -> new NDList(l.get(0).square().sum().add(l.get(1).sum())), y, y2);
            tape.backward(loss);
            NDArray yv = y.value().duplicate();
            NDArray dx = in.grad().duplicate();
            yv.attach(out);
            dx.attach(out);
            return List.of(yv, layer.w.grad().duplicate(), layer.b.grad().duplicate(), dx);
        }
    }

    @Test
    void matchesAutogradForBothLayoutsAndEveryBackend() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (WeightLayout layout : WeightLayout.values()) {
                for (boolean withBias : new boolean[] {true, false}) {
                    Layer layer = new Layer(layout);
                    Parameter bias = withBias ? layer.b : null;
                    try (ParameterBuffer buffer = ParameterBuffer.allocate(layer, 3, m)) {
                        NDArray x = Rng.normal(m, new Shape(2, 4, 10), 0f, 1f, 11);
                        List<NDArray> expected = run(layer, buffer, x, m, ParameterAccess.DIRECT, (tape, in) -> tape.apply1("linear", false,
                                (ctx, l) -> {
                                    NDArray w = ctx.param(layer.w);
                                    NDArray y = l.get(0).matMul(layout == WeightLayout.OUT_IN ? w.transpose() : w);
                                    return new NDList(bias == null ? y : y.add(ctx.param(bias)));
                                }, in));
                        for (Gemm g : List.of(new LibtorchGemm(), new OpenBlasGemm(), MeasuredGemm.ofDefaults())) {
                            for (ParameterAccess access : List.of(ParameterAccess.DIRECT, NO_TARGET)) {
                                List<NDArray> got = run(layer, buffer, x, m, access,
                                        (tape, in) -> tape.call1("linear", new LinearFunction(layer.w, layout, bias, g), in));
                                for (int i = 0; i < expected.size(); i++) {
                                    double err = Tensors.maxRelativeDifference(got.get(i).toType(DataType.FLOAT64, false),
                                            expected.get(i).toType(DataType.FLOAT64, false));
                                    assertTrue(err < 1e-5, layout + (withBias ? " with" : " without") + " bias, " + g.name()
                                            + (access == NO_TARGET ? ", no in-place target" : "")
                                            + ": tensor " + i + " (y, dW, db, dx) differs by " + err);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void layersTakeTheStrategyOfTheirTapeNotOfTheProcess() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            OpenBlasGemm blas = new OpenBlasGemm();
            try (Tape a = new Tape(m, 1, true).gemm(blas); Tape b = new Tape(m, 1, true).gemm(new LibtorchGemm())) {
                Var x = a.constant(m.randomNormal(new Shape(3, 10)));
                Var half = a.constant(m.randomNormal(new Shape(3, 10)).toType(DataType.FLOAT16, false));
                assertSame(blas, LinearFunction.strategyFor(a, x), "the tape's OpenBLAS strategy");
                assertNull(LinearFunction.strategyFor(b, b.constant(m.randomNormal(new Shape(3, 10)))),
                        "libtorch's products stay in autograd nodes");
                assertNull(LinearFunction.strategyFor(a, half), "fp16 products go to libtorch");
            }
        }
    }
}
