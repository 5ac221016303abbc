package io.tessera.models;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ScratchRngTest {
    static float[] draw() {
        try (NDManager m = NDManager.newBaseManager()) {
            return Rng.normal(m, new Shape(4096), 0f, 1f, 77).toFloatArray();
        }
    }
    @Test
    void concurrentRng() throws Exception {
        float[] ref = draw();
        AtomicInteger bad = new AtomicInteger();
        Runnable r = () -> {
            for (int i = 0; i < 20000; i++) {
                if (!java.util.Arrays.equals(ref, draw())) bad.incrementAndGet();
            }
        };
        Thread a = new Thread(r), b = new Thread(r);
        a.start(); b.start(); a.join(); b.join();
        System.out.println("BAD rng " + bad.get());
    }
}
