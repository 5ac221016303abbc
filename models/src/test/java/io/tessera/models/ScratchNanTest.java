package io.tessera.models;

import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScratchNanTest {
    @Test
    void loop() {
        int bad = 0;
        for (int i = 0; i < 30; i++) {
            for (Kind kind : Kind.values()) {
                List<Result> rs = ModelTesting.run(kind, kind.config(), 2);
                for (int r = 0; r < rs.size(); r++) {
                    Result res = rs.get(r);
                    StringBuilder sb = new StringBuilder();
                    if (Float.isNaN(res.loss())) sb.append(" loss");
                    for (float f : res.logits()) if (!Float.isFinite(f)) { sb.append(" logits"); break; }
                    for (Map.Entry<String, float[]> e : res.grads().entrySet()) {
                        int n = 0;
                        for (float f : e.getValue()) if (!Float.isFinite(f)) n++;
                        if (n > 0) sb.append(" ").append(e.getKey()).append("(").append(n).append(")");
                    }
                    if (sb.length() > 0) { bad++; System.out.println("iter " + i + " " + kind + " rank " + r + ":" + sb); }
                }
            }
        }
        System.out.println("BAD " + bad);
    }
}
