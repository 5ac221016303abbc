package io.tessera.train.memory;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.NativeLibrary;
import io.tessera.core.Rng;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.GemmBackend;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.TransformerLayer;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivationMemoryProbeTest {
    static final int S = 256, B = 4, H = 256, A = 4, L = 2;

    static long rss() throws Exception {
        String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
        return Long.parseLong(f[1]) * 4096;
    }

    static final class Stack extends Module {
        final List<TransformerLayer> layers = new ArrayList<>();
        Stack(TransformerConfig c, ParallelContext pc, boolean ckpt) {
            for (int i = 0; i < L; i++) layers.add(register(Integer.toString(i), TransformerLayer.of(c, pc, ckpt)));
        }
    }

    @Test
    void probeOff() throws Exception {
        int r = NativeLibrary.getInstance("c").getFunction("mallopt").invokeInt(new Object[] {-3, 64 * 1024});
        System.out.println("mallopt " + r);
        for (Architecture arch : new Architecture[] {Architecture.BERT, Architecture.GPT2}) {
            for (GemmBackend gb : new GemmBackend[] {GemmBackend.LIBTORCH, GemmBackend.OPENBLAS}) {
                for (double p : new double[] {0, 0.1}) {
                    for (boolean ck : new boolean[] {false, true}) {
                        TransformerConfig c = TransformerConfig.builder(arch).setVocabSize(1000).setHiddenSize(H).setNumLayers(L)
                                .setNumHeads(A).setMaxPositions(S).optHiddenDropout(p).optAttentionDropout(p).build();
                        double[] mb = measure(c, gb.create(), ck);
                        System.out.printf("%s %s p=%.1f ckpt=%s: held %s MB per layer (sbh=%.3f MB fp32)%n", arch, gb, p, ck,
                                Arrays.toString(mb), S * B * H * 4 / 1e6);
                    }
                }
            }
        }
    }

    @Test
    void probeTp2() throws Exception {
        NativeLibrary.getInstance("c").getFunction("mallopt").invokeInt(new Object[] {-3, 64 * 1024});
        for (GemmBackend gb : new GemmBackend[] {GemmBackend.LIBTORCH, GemmBackend.OPENBLAS}) {
            for (double p : new double[] {0, 0.1}) {
                for (boolean ck : new boolean[] {false, true}) {
                    TransformerConfig c = TransformerConfig.builder(Architecture.BERT).setVocabSize(1000).setHiddenSize(H).setNumLayers(L)
                            .setNumHeads(A).setMaxPositions(S).optHiddenDropout(p).optAttentionDropout(p).build();
                    long t0 = System.nanoTime();
                    List<double[]> res = io.tessera.parallel.tensor.TpTesting.run(2, pc -> {
                        try { return measure(c, gb.create(), ck, pc); } catch (Exception e) { throw new RuntimeException(e); }
                    });
                    System.out.printf("TP2 BERT %s p=%.1f ckpt=%s: held %s MB per layer, both ranks (%.1f s)%n", gb, p, ck,
                            Arrays.toString(res.get(0)), (System.nanoTime() - t0) / 1e9);
                }
            }
        }
    }

    static double[] measure(TransformerConfig c, Gemm gemm, boolean ck) throws Exception {
        return measure(c, gemm, ck, ParallelContext.single());
    }

    static double[] measure(TransformerConfig c, Gemm gemm, boolean ck, ParallelContext pc) throws Exception {
        Stack stack = new Stack(c, pc, ck);
        double[] out = new double[3];
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(stack, 3, m)) {
            NDArray x = Rng.normal(m, new Shape(B, S, H), 0f, 1f, 5);
            NDArray cot = Rng.normal(m, new Shape(B, S, H), 0f, 1f, 6);
            for (int rep = 0; rep < out.length + 1; rep++) {
                try (Tape tape = new Tape(m, rep, true).gemm(gemm)) {
                    Var h = tape.variable(x);
                    pc.tensor().barrier();
                    long r0 = rss();
                    pc.tensor().barrier();
                    for (int i = 0; i < L; i++) h = stack.layers.get(i).forward(tape, "h." + i, h, null);
                    pc.tensor().barrier();
                    long r1 = rss();
                    pc.tensor().barrier();
                    tape.backward(h, cot);
                    if (rep > 0) out[rep - 1] = Math.round((r1 - r0) / 1e5 / L) / 10.0;
                }
            }
        }
        return out;
    }
}
