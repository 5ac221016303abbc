package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.tensor.TpTesting;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The measurement behind {@link BiLstmClassifier}'s choice of libtorch's fused LSTM op: one LSTM
 * direction, forward and backward, on a batch of the student's size (B = 64, T = 24, E = 16, H = 32),
 * as libtorch's {@code lstm} op and as a cell loop of NDArray ops, each inside one tape node. The two
 * must give the same states and input gradients (so that the timing compares equal work); the
 * timings are printed, not asserted.
 */
class LstmTimingTest {

    private static final int B = 64;
    private static final int T = 24;
    private static final int E = 16;
    private static final int H = 32;

    @Test
    void fusedOpAndCellLoopAgreeAndAreTimed() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            NDArray x = Rng.normal(m, new Shape(B, T, E), 0, 1, 1);
            NDArray[] w = {Rng.normal(m, new Shape(4 * H, E), 0, 0.2f, 2), Rng.normal(m, new Shape(4 * H, H), 0, 0.2f, 3),
                Rng.normal(m, new Shape(4 * H), 0, 0.2f, 4), Rng.normal(m, new Shape(4 * H), 0, 0.2f, 5)};
            float[][] fused = run(m, x, w, true);
            float[][] loop = run(m, x, w, false);
            TpTesting.assertClose(fused[0], loop[0], 1e-5, "states, fused op vs cell loop");
            TpTesting.assertClose(fused[1], loop[1], 1e-5, "input gradients, fused op vs cell loop");
            double fusedMs = median(m, x, w, true);
            double loopMs = median(m, x, w, false);
            System.out.printf("LSTM direction B=%d T=%d E=%d H=%d forward+backward, %d threads: libtorch lstm op %.2f ms, cell loop"
                    + " %.2f ms (median of 5)%n", B, T, E, H, Torch.threads(), fusedMs, loopMs);
            assertTrue(fusedMs > 0 && loopMs > 0);
        }
    }

    private static double median(NDManager m, NDArray x, NDArray[] w, boolean fused) {
        run(m, x, w, fused); // warm-up
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            run(m, x, w, fused);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[2];
    }

    /** @return the states [B, T, H] and the gradient of sum(states · c) with respect to x, for a fixed c */
    private static float[][] run(NDManager m, NDArray x, NDArray[] w, boolean fused) {
        try (NDManager scope = m.newSubManager(); Tape tape = new Tape(scope, 0, true)) {
            Var in = tape.variable(x);
            Var h = tape.apply1("lstm", false, (ctx, a) -> {
                NDArray[] p = new NDArray[4];
                for (int i = 0; i < 4; i++) {
                    p[i] = w[i].stopGradient();
                    p[i].attach(ctx.manager());
                    p[i].setRequiresGradient(true);
                }
                return new NDList(fused ? fused(ctx.manager(), a.get(0), p) : loop(ctx.manager(), a.get(0), p));
            }, in);
            NDArray c = Rng.normal(scope, new Shape(B, T, H), 0, 1, 9);
            tape.backward(h, c);
            return new float[][] {h.value().toFloatArray(), in.grad().toFloatArray()};
        }
    }

    private static NDArray fused(NDManager m, NDArray x, NDArray[] p) {
        Shape zero = new Shape(1, B, H);
        return x.getNDArrayInternal().lstm(x, new NDList(m.zeros(zero), m.zeros(zero)), new NDList(p), true, 1, 0, true, false, true)
                .get(0);
    }

    /** PyTorch's LSTM cell, gate order i, f, g, o, one step at a time. */
    private static NDArray loop(NDManager m, NDArray x, NDArray[] p) {
        NDArray h = m.zeros(new Shape(B, H));
        NDArray c = m.zeros(new Shape(B, H));
        NDArray inputs = x.matMul(p[0].transpose()).add(p[2]).add(p[3]); // [B, T, 4H]: the input half of every step at once
        NDList states = new NDList(T);
        for (int t = 0; t < T; t++) {
            NDArray gates = inputs.get(":, " + t + ", :").add(h.matMul(p[1].transpose()));
            NDList g = gates.split(4, 1);
            c = g.get(1).getNDArrayInternal().sigmoid().mul(c).add(g.get(0).getNDArrayInternal().sigmoid().mul(g.get(2).tanh()));
            h = g.get(3).getNDArrayInternal().sigmoid().mul(c.tanh());
            states.add(h);
        }
        return NDArrays.stack(states, 1);
    }
}
