package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Rng;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ScratchTapeTest {
    static final class Net extends Module {
        final Parameter w1 = register("w1", Parameter.of(new Shape(32, 128), Initializer.normal(0.2f)));
        final Parameter w2 = register("w2", Parameter.of(new Shape(128, 32), Initializer.normal(0.2f)));
        final Parameter w3 = register("w3", Parameter.of(new Shape(32, 32), Initializer.normal(0.2f)));
    }
    static String mode = System.getProperty("scratch.mode", "tape");

    static float[] once() {
        if (mode.equals("lockCompute")) {
            return onceLocked();
        }
        return onceBody();
    }

    static float[] onceLocked() {
        Net net = new Net();
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(net, 3, m)) {
            synchronized (ScratchTapeTest.class) {
                try (Tape tape = new Tape(m, 1, false)) {
                    return compute(net, buf, m, tape);
                }
            }
        }
    }

    static float[] compute(Net net, ParameterBuffer buf, NDManager m, Tape tape) {
            Var x = tape.variable(Rng.normal(m, new Shape(16, 32), 0f, 1f, 1));
            Var h = x;
            for (int l = 0; l < 4; l++) {
                Var a = tape.apply1("mlp" + l, false, (c, in) -> {
                    NDArray z = in.get(0).matMul(c.param(net.w1));
                    z = z.mul(z.mul(0.7071).erf().add(1)).mul(0.5);
                    return new NDList(z.matMul(c.param(net.w2)));
                }, h);
                Var hh = h;
                h = tape.apply1("res" + l, false, (c, in) -> new NDList(in.get(0).add(in.get(1)).matMul(c.param(net.w3))), a, hh);
            }
            Var loss = tape.apply1("loss", false, (c, in) -> new NDList(in.get(0).softmax(-1).mul(in.get(0)).sum()), h);
            tape.backward(loss);
            float[] gx = x.grad().toFloatArray();
            float[] gw = buf.grads().toFloatArray();
            float[] out = new float[gx.length + gw.length];
            System.arraycopy(gx, 0, out, 0, gx.length);
            System.arraycopy(gw, 0, out, gx.length, gw.length);
            return out;
    }

    static float[] onceBody() {
        Net net = new Net();
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(net, 3, m);
             Tape tape = new Tape(m, 1, false)) {
            Var x = tape.variable(Rng.normal(m, new Shape(16, 32), 0f, 1f, 1));
            Var h = x;
            for (int l = 0; l < 4; l++) {
                Var a = tape.apply1("mlp" + l, false, (c, in) -> {
                    NDArray z = in.get(0).matMul(c.param(net.w1));
                    z = z.mul(z.mul(0.7071).erf().add(1)).mul(0.5);
                    return new NDList(z.matMul(c.param(net.w2)));
                }, h);
                Var hh = h;
                h = tape.apply1("res" + l, false, (c, in) -> new NDList(in.get(0).add(in.get(1)).matMul(c.param(net.w3))), a, hh);
            }
            Var loss = tape.apply1("loss", false, (c, in) -> new NDList(in.get(0).softmax(-1).mul(in.get(0)).sum()), h);
            if (mode.equals("lockBackward")) {
                synchronized (ScratchTapeTest.class) { tape.backward(loss); }
            } else if (mode.equals("lockForwardOnly")) {
                tape.backward(loss);
            } else {
                tape.backward(loss);
            }
            float[] gx = x.grad().toFloatArray();
            float[] gw = buf.grads().toFloatArray();
            float[] out = new float[gx.length + gw.length];
            System.arraycopy(gx, 0, out, 0, gx.length);
            System.arraycopy(gw, 0, out, gx.length, gw.length);
            return out;
        }
    }
    /** Plain DJL: leaves are detached views of one flat buffer, one graph per "node" chained by hand. */
    static float[] plainViews() {
        try (NDManager m = NDManager.newBaseManager(); io.tessera.core.Torch.GradMode g = io.tessera.core.Torch.gradMode(true)) {
            NDArray flat = m.zeros(new Shape(32 * 128 * 2 + 32 * 32));
            NDArray w1 = flat.get("0:4096").reshape(32, 128);
            NDArray w2 = flat.get("4096:8192").reshape(128, 32);
            NDArray w3 = flat.get("8192:9216").reshape(32, 32);
            w1.set(new ai.djl.ndarray.index.NDIndex("..."), Rng.normal(m, new Shape(32, 128), 0f, 0.2f, 11));
            w2.set(new ai.djl.ndarray.index.NDIndex("..."), Rng.normal(m, new Shape(128, 32), 0f, 0.2f, 12));
            w3.set(new ai.djl.ndarray.index.NDIndex("..."), Rng.normal(m, new Shape(32, 32), 0f, 0.2f, 13));
            NDArray grads = m.zeros(new Shape(9216));
            NDArray x = Rng.normal(m, new Shape(16, 32), 0f, 1f, 1);
            java.util.List<NDArray[]> saved = new java.util.ArrayList<>();
            NDArray h = x;
            for (int l = 0; l < 4; l++) {
                try (NDManager s = m.newSubManager()) {
                    NDArray in = h.stopGradient(); in.attach(s); in.setRequiresGradient(true);
                    NDArray p1 = w1.stopGradient(); p1.attach(s); p1.setRequiresGradient(true);
                    NDArray p2 = w2.stopGradient(); p2.attach(s); p2.setRequiresGradient(true);
                    NDArray p3 = w3.stopGradient(); p3.attach(s); p3.setRequiresGradient(true);
                    NDArray z = in.matMul(p1);
                    z = z.mul(z.mul(0.7071).erf().add(1)).mul(0.5);
                    NDArray out = z.matMul(p2).add(in).matMul(p3);
                    JniUtils.backward((PtNDArray) out, (PtNDArray) m.ones(out.getShape()), false, false);
                    NDArray gi = in.getGradient(); gi.attach(m);
                    grads.get("0:4096").addi(p1.getGradient().reshape(4096));
                    grads.get("4096:8192").addi(p2.getGradient().reshape(4096));
                    grads.get("8192:9216").addi(p3.getGradient().reshape(1024));
                    NDArray o = out.stopGradient(); o.attach(m);
                    h = o.add(gi);
                }
            }
            return h.toFloatArray();
        }
    }

    @Test
    void concurrentPlainViews() throws Exception {
        float[] ref = plainViews();
        AtomicInteger bad = new AtomicInteger();
        Runnable r = () -> {
            for (int i = 0; i < 2000; i++) {
                if (!java.util.Arrays.equals(ref, plainViews())) { bad.incrementAndGet(); }
            }
        };
        Thread a = new Thread(r), b = new Thread(r);
        a.start(); b.start(); a.join(); b.join();
        System.out.println("BAD views " + bad.get());
    }

    @Test
    void concurrentTape() throws Exception {
        float[] ref = once();
        AtomicInteger bad = new AtomicInteger();
        Runnable r = () -> {
            try (io.tessera.core.Torch.GradMode g = io.tessera.core.Torch.gradMode(false)) {
                for (int i = 0; i < 2000; i++) {
                    float[] got = once();
                    if (!java.util.Arrays.equals(ref, got)) {
                        bad.incrementAndGet();
                        int first = -1, n = 0; double maxd = 0;
                        for (int j = 0; j < ref.length; j++) if (ref[j] != got[j]) { n++; if (first < 0) first = j; maxd = Math.max(maxd, Math.abs(ref[j] - got[j])); }
                        System.out.println("diff at " + first + " count " + n + " max " + maxd + " got " + got[first] + " ref " + ref[first]);
                    }
                }
            }
        };
        Thread a = new Thread(r), b = new Thread(r);
        a.start();
        if (!mode.equals("single")) { b.start(); b.join(); }
        a.join();
        System.out.println("BAD " + mode + " " + bad.get());
    }
}
