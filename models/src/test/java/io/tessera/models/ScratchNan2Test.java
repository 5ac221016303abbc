package io.tessera.models;

import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ScratchNan2Test {
    @Test
    void concurrentDegreeOne() throws Exception {
        Map<Kind, Result> ref = new EnumMap<>(Kind.class);
        for (Kind k : Kind.values()) ref.put(k, ModelTesting.run(k, k.config(), 1).get(0));
        AtomicInteger badCount = new AtomicInteger();
        Runnable body = () -> {
            for (int i = 0; i < 40; i++) {
                for (Kind kind : Kind.values()) {
                    Result r = ModelTesting.run(kind, kind.config(), 1).get(0);
                    Result e = ref.get(kind);
                    StringBuilder sb = new StringBuilder();
                    if (r.loss() != e.loss()) sb.append(" loss " + r.loss() + " vs " + e.loss());
                    if (!java.util.Arrays.equals(r.logits(), e.logits())) sb.append(" logits");
                    for (String n : e.grads().keySet()) {
                        float[] a = r.grads().get(n), b = e.grads().get(n);
                        double d = 0; int nan = 0;
                        for (int j = 0; j < a.length; j++) { if (!Float.isFinite(a[j])) nan++; else d = Math.max(d, Math.abs(a[j] - b[j])); }
                        if (nan > 0 || d > 1e-5) sb.append(" " + n + "(nan " + nan + ", d " + d + ")");
                    }
                    if (sb.length() > 0) { badCount.incrementAndGet(); System.out.println("iter " + i + " " + kind + ":" + sb); }
                }
            }
        };
        Thread t1 = new Thread(body); Thread t2 = new Thread(body);
        t1.start(); t2.start(); t1.join(); t2.join();
        System.out.println("BAD " + badCount.get());
    }
}
