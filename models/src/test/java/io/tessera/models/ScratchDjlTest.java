package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ScratchDjlTest {
    static float[] once() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.gradMode(true)) {
            NDArray x = Rng.normal(m, new Shape(16, 32), 0f, 1f, 1);
            NDArray w1 = Rng.normal(m, new Shape(32, 128), 0f, 0.2f, 2);
            NDArray w2 = Rng.normal(m, new Shape(128, 32), 0f, 0.2f, 3);
            x.setRequiresGradient(true); w1.setRequiresGradient(true); w2.setRequiresGradient(true);
            NDArray h = x.matMul(w1);
            NDArray a = h.mul(h.mul(0.7071).erf().add(1)).mul(0.5);
            NDArray y = a.matMul(w2).softmax(-1);
            NDArray loss = y.mul(Rng.normal(m, new Shape(16, 32), 0f, 1f, 4)).sum();
            JniUtils.backward((PtNDArray) loss, (PtNDArray) m.ones(new Shape()), false, false);
            float[] gx = x.getGradient().toFloatArray();
            float[] gw = w1.getGradient().toFloatArray();
            float[] out = new float[gx.length + gw.length];
            System.arraycopy(gx, 0, out, 0, gx.length);
            System.arraycopy(gw, 0, out, gx.length, gw.length);
            return out;
        }
    }
    @Test
    void concurrentPlainAutograd() throws Exception {
        float[] ref = once();
        AtomicInteger bad = new AtomicInteger();
        Runnable r = () -> {
            for (int i = 0; i < 3000; i++) {
                if (!java.util.Arrays.equals(ref, once())) { bad.incrementAndGet(); }
            }
        };
        Thread a = new Thread(r), b = new Thread(r);
        a.start(); b.start(); a.join(); b.join();
        System.out.println("BAD " + bad.get());
    }
}
