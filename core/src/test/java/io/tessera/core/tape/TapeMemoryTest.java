package io.tessera.core.tape;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A long run holds flat native memory: each step's tape frees what the step allocated. */
class TapeMemoryTest {

    @Test
    void twoThousandStepsGrowResidentMemoryByLessThan50MB() throws IOException {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            TapeGradientTest.Stack model = new TapeGradientTest.Stack();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 1, m)) {
                NDArray x = Rng.normal(m, new Shape(TapeGradientTest.B, TapeGradientTest.T, TapeGradientTest.C), 0f, 1f, 2);
                long before = 0;
                for (int step = 0; step < 2200; step++) {
                    if (step == 200) {
                        System.gc();
                        before = residentBytes();
                    }
                    buffer.zeroGrad();
                    try (Tape tape = new Tape(m, step, true)) {
                        Var loss = model.forward(tape, tape.constant(x), step % 2 == 0);
                        Var extra = tape.apply1("sgd-probe", false, (ctx, in) -> new NDList(in.get(0).mul(io.tessera.core.Scalars.of(in.get(0), 1))), loss);
                        tape.backward(extra);
                    }
                    try (NDManager update = m.newSubManager()) {
                        NDArray delta = buffer.grads().mul(1e-3f);
                        delta.attach(update);
                        buffer.params().subi(delta);
                    }
                    if (step % 400 == 0) {
                        Runtime rt = Runtime.getRuntime();
                        System.out.printf("step %d resident %.1f MB heap committed %.1f MB used %.1f MB%n", step, residentBytes() / 1e6,
                                rt.totalMemory() / 1e6, (rt.totalMemory() - rt.freeMemory()) / 1e6);
                    }
                }
                System.gc();
                long growth = residentBytes() - before;
                System.out.printf("resident memory growth over 2,000 steps: %.1f MB%n", growth / 1e6);
                assertTrue(growth < 50_000_000L, "resident memory grew by " + growth / 1e6 + " MB over 2,000 steps");
            }
        }
    }

    static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("VmRSS not found in /proc/self/status");
    }
}
