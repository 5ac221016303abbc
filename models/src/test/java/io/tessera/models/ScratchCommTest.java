package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScratchCommTest {
    @Test
    void loop() {
        List<Integer> bad = TpTesting.run(2, pc -> {
            int b = 0;
            try (NDManager m = NDManager.newBaseManager()) {
                for (int i = 0; i < 3000; i++) {
                    try (NDManager s = m.newSubManager()) {
                        NDArray a = Rng.normal(s, new Shape(2, 8, 32), 0f, 1f, i);
                        NDArray mine = a.mul(pc.tensorRank() + 1);
                        NDArray buf = s.zeros(mine.getShape());
                        buf.set(new ai.djl.ndarray.index.NDIndex("..."), mine);
                        pc.tensor().allReduce(buf, ReduceOp.SUM);
                        NDArray expect = a.mul(3);
                        float d = buf.sub(expect).abs().max().getFloat();
                        if (!(d < 1e-4)) { b++; System.out.println("rank " + pc.tensorRank() + " iter " + i + " diff " + d); }
                    }
                }
            }
            return b;
        });
        System.out.println("BAD " + bad);
    }
}
