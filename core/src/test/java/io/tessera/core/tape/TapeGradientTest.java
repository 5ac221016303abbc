package io.tessera.core.tape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Rng;
import io.tessera.core.Scalars;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The tape's gradients equal those of one plain DJL autograd graph over the same computation: a small
 * residual stack with an MLP node, an attention-like node, a node whose input is used twice (cotangent
 * accumulation) and a loss node.
 */
class TapeGradientTest {

    static final int B = 3;
    static final int T = 5;
    static final int C = 8;

    /** A residual stack: x → mlp (residual) → attention-like (residual) → mix(a, b) → loss. */
    static final class Stack extends Module {
        final Parameter w1 = register("w1", Parameter.of(new Shape(C, 2 * C), Initializer.normal(0.3f)));
        final Parameter b1 = register("b1", Parameter.of(new Shape(2 * C), Initializer.normal(0.1f)));
        final Parameter w2 = register("w2", Parameter.of(new Shape(2 * C, C), Initializer.normal(0.3f)));
        final Parameter wq = register("wq", Parameter.of(new Shape(C, C), Initializer.normal(0.3f)));
        final Parameter wk = register("wk", Parameter.of(new Shape(C, C), Initializer.normal(0.3f)));
        final Parameter wo = register("wo", Parameter.of(new Shape(C, C), Initializer.normal(0.3f)));

        NDArray mlp(NDArray x, java.util.function.Function<Parameter, NDArray> p) {
            NDArray h = x.matMul(p.apply(w1)).add(p.apply(b1));
            NDArray g = h.mul(h.mul(Scalars.of(h, 0.7071067811865476)).erf().add(Scalars.of(h, 1))).mul(Scalars.of(h, 0.5));
            return x.add(g.matMul(p.apply(w2)));
        }

        NDArray attention(NDArray x, java.util.function.Function<Parameter, NDArray> p) {
            NDArray q = x.matMul(p.apply(wq));
            NDArray k = x.matMul(p.apply(wk));
            NDArray s = q.matMul(k.transpose(0, 2, 1)).div(Scalars.of(q, Math.sqrt(C))).softmax(-1);
            return x.add(s.matMul(x).matMul(p.apply(wo)));
        }

        NDArray mix(NDArray a, NDArray b, java.util.function.Function<Parameter, NDArray> p) {
            return a.mul(b).add(b.matMul(p.apply(wo)));
        }

        static NDArray loss(NDArray c) {
            return c.square().mean();
        }

        /** The same computation recorded on the tape as four nodes. */
        Var forward(Tape tape, Var x, boolean checkpoint) {
            Var a = tape.apply1("mlp", checkpoint, (ctx, in) -> new NDList(mlp(in.get(0), ctx::param)), x);
            Var b = tape.apply1("attention", checkpoint, (ctx, in) -> new NDList(attention(in.get(0), ctx::param)), a);
            Var c = tape.apply1("mix", false, (ctx, in) -> new NDList(mix(in.get(0), in.get(1), ctx::param)), a, b);
            return tape.apply1("loss", false, (ctx, in) -> new NDList(loss(in.get(0))), c);
        }
    }

    @Test
    void tapeMatchesOneDjlGraphWithAndWithoutCheckpointing() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            Stack model = new Stack();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 7, m)) {
                NDArray x = Rng.normal(m, new Shape(B, T, C), 0f, 1f, 99);
                Map<String, NDArray> reference = referenceGradients(m, model, buffer, x);
                for (boolean checkpoint : new boolean[] {false, true}) {
                    buffer.zeroGrad();
                    NDArray xGrad;
                    double lossValue;
                    try (Tape tape = new Tape(m, 1, true)) {
                        Var xv = tape.variable(x);
                        Var loss = model.forward(tape, xv, checkpoint);
                        lossValue = loss.value().getFloat();
                        tape.backward(loss);
                        xGrad = xv.grad().duplicate();
                        xGrad.attach(m);
                    }
                    for (Map.Entry<String, Parameter> e : buffer.parameters().entrySet()) {
                        double rel = Tensors.maxRelativeDifference(e.getValue().grad(), reference.get(e.getKey()));
                        assertTrue(rel <= 1e-6, "checkpoint=" + checkpoint + " gradient of " + e.getKey() + " differs by " + rel);
                    }
                    double relX = Tensors.maxRelativeDifference(xGrad, reference.get("x"));
                    assertTrue(relX <= 1e-6, "checkpoint=" + checkpoint + " input gradient differs by " + relX);
                    assertEquals(reference.get("loss").getFloat(), lossValue, 1e-7);
                }
            }
        }
    }

    /** Gradients of the same computation as one DJL autograd graph over leaf copies of the parameters. */
    private static Map<String, NDArray> referenceGradients(NDManager m, Stack model, ParameterBuffer buffer, NDArray x) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        Map<Parameter, NDArray> leaves = new java.util.IdentityHashMap<>();
        for (Parameter p : buffer.list()) {
            NDArray leaf = p.data().duplicate();
            leaf.setRequiresGradient(true);
            leaves.put(p, leaf);
        }
        NDArray xl = x.duplicate();
        xl.setRequiresGradient(true);
        try (Torch.GradMode on = Torch.gradMode(true)) {
            NDArray a = model.mlp(xl, leaves::get);
            NDArray b = model.attention(a, leaves::get);
            NDArray c = model.mix(a, b, leaves::get);
            NDArray loss = Stack.loss(c);
            grads.put("loss", loss.duplicate());
            JniUtils.backward((PtNDArray) loss, (PtNDArray) m.ones(loss.getShape()), false, false);
        }
        for (Map.Entry<String, Parameter> e : buffer.parameters().entrySet()) {
            grads.put(e.getKey(), JniUtils.getGradient((PtNDArray) leaves.get(e.getValue())));
        }
        grads.put("x", JniUtils.getGradient((PtNDArray) xl));
        return grads;
    }

    @Test
    void float64FiniteDifferencesAgreeWithTapeGradients() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            NDArray x0 = Rng.normal(m, new Shape(2, 3, 4), 0f, 1f, 5).toType(DataType.FLOAT64, false);
            NDArray w = Rng.normal(m, new Shape(4, 4), 0f, 0.5f, 6).toType(DataType.FLOAT64, false);
            NDArray analytic;
            try (Tape tape = new Tape(m, 0, true)) {
                Var x = tape.variable(x0);
                Var loss = lossOf(tape, x, w);
                tape.backward(loss);
                analytic = x.grad().duplicate();
                analytic.attach(m);
            }
            double[] xs = x0.toDoubleArray();
            double[] g = analytic.toDoubleArray();
            double eps = 1e-6;
            for (int i = 0; i < xs.length; i++) {
                double[] plus = xs.clone();
                double[] minus = xs.clone();
                plus[i] += eps;
                minus[i] -= eps;
                double numeric = (evaluate(m, plus, x0.getShape(), w) - evaluate(m, minus, x0.getShape(), w)) / (2 * eps);
                assertEquals(numeric, g[i], 1e-7 * Math.max(1, Math.abs(numeric)), "element " + i);
            }
        }
    }

    private static Var lossOf(Tape tape, Var x, NDArray w) {
        Var h = tape.apply1("tanh-linear", false, (ctx, in) -> new NDList(in.get(0).matMul(w).tanh()), x);
        Var r = tape.apply1("residual", true, (ctx, in) -> new NDList(in.get(0).add(in.get(1).mul(in.get(1)))), x, h);
        return tape.apply1("loss", false, (ctx, in) -> new NDList(in.get(0).sin().sum()), r);
    }

    private static double evaluate(NDManager m, double[] xs, Shape shape, NDArray w) {
        try (Tape tape = new Tape(m, 0, false, false)) {
            return lossOf(tape, tape.constant(m.create(xs, shape)), w).value().getDouble();
        }
    }

    /** Identity forward, backward multiplies by a constant: the tape must use the hand-written rule. */
    static final class ScaleGradient implements TapeFunction {
        private final double factor;

        ScaleGradient(double factor) {
            this.factor = factor;
        }

        @Override
        public NDList forward(FunctionContext ctx, NDList inputs) {
            return new NDList(inputs.get(0));
        }

        @Override
        public NDList backward(FunctionContext ctx, NDList cots) {
            return new NDList(cots.get(0).mul(factor));
        }
    }

    @Test
    void handWrittenBackwardIsHonoured() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            NDArray x0 = m.create(new float[] {1, -2, 3});
            try (Tape tape = new Tape(m, 0, true)) {
                Var x = tape.variable(x0);
                Var y = tape.call1("scale-grad", new ScaleGradient(3.0), x);
                assertEquals(x0, y.value(), "identity forward");
                Var loss = tape.apply1("sum-squares", false, (ctx, in) -> new NDList(in.get(0).square().sum()), y);
                tape.backward(loss);
                // d/dx sum(x²) = 2x, scaled by 3 in the custom backward.
                assertEquals(m.create(new float[] {6, -12, 18}), x.grad());
            }
        }
    }

    @Test
    void gradientHookFiresOncePerNodeInReverseOrderAfterGradientsAreComplete() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            Stack model = new Stack();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 3, m)) {
                NDArray x = Rng.normal(m, new Shape(B, T, C), 0f, 1f, 4);
                Map<String, NDArray> reference = referenceGradients(m, model, buffer, x);
                buffer.zeroGrad();
                List<String> fired = new java.util.ArrayList<>();
                List<String> finalParams = new java.util.ArrayList<>();
                try (Tape tape = new Tape(m, 1, true)) {
                    tape.addListener((name, index, params) -> {
                        fired.add(index + ":" + name);
                        for (Parameter p : params) {
                            finalParams.add(p.name());
                            double rel = Tensors.maxRelativeDifference(p.grad(), reference.get(p.name()));
                            assertTrue(rel <= 1e-6, p.name() + " not complete when reported final: " + rel);
                        }
                    });
                    tape.backward(model.forward(tape, tape.constant(x), false));
                }
                assertEquals(List.of("3:loss", "2:mix", "1:attention", "0:mlp"), fired);
                // wo is used by attention and mix: final only after attention (the earlier node) ran backward.
                assertEquals(List.of("wq", "wk", "wo", "w1", "b1", "w2"), finalParams);
            }
        }
    }
}
