package io.tessera.optim.dp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.optim.Fixture;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.launch.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Bucketed data-parallel averaging on 2 in-process ranks against the average of the ranks' gradients
 * computed one after the other on one rank; the trace shows each bucket starting right after the node
 * that completes it, while backward is still running; with accumulation nothing is communicated before
 * the last micro-batch.
 */
class GradientBucketsTest {

    static final int LAYERS = 4;
    static final int B = 4;
    static final int C = 8;
    /** One layer's weight and bias in fp32: each bucket holds exactly one layer. */
    static final long LAYER_BYTES = 4L * (C * C + C);

    /** h ← tanh(h·W_l + b_l) for each layer, one tape node per layer, then mean(h²). */
    static final class Mlp extends Module {
        final List<Parameter> weights = new ArrayList<>();
        final List<Parameter> biases = new ArrayList<>();

        Mlp() {
            for (int l = 0; l < LAYERS; l++) {
                weights.add(register("w" + l, Parameter.of(new Shape(C, C), Initializer.normal(0.5f))));
                biases.add(register("b" + l, Parameter.of(new Shape(C), Initializer.normal(0.1f))));
            }
        }

        Var forward(Tape tape, Var x) {
            Var h = x;
            for (int l = 0; l < LAYERS; l++) {
                Parameter w = weights.get(l);
                Parameter b = biases.get(l);
                h = tape.apply1("layer." + l, false,
                        (ctx, in) -> new NDList(in.get(0).matMul(ctx.param(w)).add(ctx.param(b)).tanh()), h);
            }
            return tape.apply1("loss", false, (ctx, in) -> new NDList(in.get(0).square().mean()), h);
        }
    }

    /** Backward of micro-batch {@code micro} of rank {@code rank}, gradients adding into the buffer. */
    static void backward(Mlp model, NDManager m, int rank, int micro, GradientBuckets buckets) {
        try (Tape tape = new Tape(m, 7, true)) {
            if (buckets != null) {
                tape.addListener(buckets);
            }
            Var x = tape.constant(Rng.normal(tape.manager(), new Shape(B, C), 0f, 1f, 100 * rank + micro));
            tape.backward(model.forward(tape, x));
        }
    }

    /** The data-parallel average over {@code ranks} of each rank's gradient summed over micro-batches. */
    static double[] expected(int ranks, int micros) {
        double[] sum = null;
        try (NDManager m = Torch.engine().newBaseManager()) {
            for (int r = 0; r < ranks; r++) {
                Mlp model = new Mlp();
                try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 1, m)) {
                    for (int micro = 0; micro < micros; micro++) {
                        backward(model, m, r, micro, null);
                    }
                    double[] g = Fixture.read(buffer.grads());
                    if (sum == null) {
                        sum = new double[g.length];
                    }
                    for (int i = 0; i < g.length; i++) {
                        sum[i] += g[i] / ranks;
                    }
                }
            }
        }
        return sum;
    }

    record RankResult(double[] grads, List<GradientBuckets.Trace> traces, List<GradientBuckets.Bucket> buckets) {}

    static List<RankResult> runDataParallel(int micros) {
        return LocalCluster.run(2, Duration.ofSeconds(60), ctx -> {
            try (NDManager m = Torch.engine().newBaseManager()) {
                Mlp model = new Mlp();
                try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 1, m);
                     GradientBuckets buckets = new GradientBuckets(buffer, ctx.data(), LAYER_BYTES)) {
                    List<GradientBuckets.Trace> traces = new ArrayList<>();
                    for (int micro = 0; micro < micros; micro++) {
                        buckets.startBackward(micro == micros - 1);
                        backward(model, m, ctx.dataRank(), micro, buckets);
                        traces.add(buckets.finishBackward());
                    }
                    return new RankResult(Fixture.read(buffer.grads()), traces, buckets.buckets());
                }
            }
        });
    }

    @Test
    void bucketsAverageGradientsAndStartDuringBackward() {
        double[] want = expected(2, 1);
        List<RankResult> ranks = runDataParallel(1);
        for (int r = 0; r < ranks.size(); r++) {
            RankResult res = ranks.get(r);
            assertArrayEquals(want, res.grads(), 1e-6, "averaged gradients on rank " + r);
            assertEquals(LAYERS, res.buckets().size(), "one bucket per layer");
            List<GradientBuckets.Launch> launches = res.traces().get(0).launches();
            assertEquals(LAYERS, launches.size());
            for (int i = 0; i < LAYERS; i++) {
                assertEquals(i, launches.get(i).bucket());
                assertEquals("layer." + (LAYERS - 1 - i), launches.get(i).afterNode(),
                        "bucket " + i + " must start as soon as its layer's backward is done");
            }
        }
    }

    @Test
    void accumulationCommunicatesOnlyOnTheLastMicroBatch() {
        double[] want = expected(2, 3);
        List<RankResult> ranks = runDataParallel(3);
        for (int r = 0; r < ranks.size(); r++) {
            RankResult res = ranks.get(r);
            assertTrue(res.traces().get(0).launches().isEmpty(), "micro-batch 0 must not communicate");
            assertTrue(res.traces().get(1).launches().isEmpty(), "micro-batch 1 must not communicate");
            assertEquals(LAYERS, res.traces().get(2).launches().size());
            assertArrayEquals(want, res.grads(), 1e-6, "accumulated averaged gradients on rank " + r);
        }
    }

    @Test
    void bucketsCoverTheBufferFromItsEndInWholeParameters() {
        try (NDManager m = Torch.engine().newBaseManager()) {
            Mlp model = new Mlp();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 1, m);
                 GradientBuckets two = new GradientBuckets(buffer, new SingleRankCommunicator("dp"), 2 * LAYER_BYTES);
                 GradientBuckets tiny = new GradientBuckets(buffer, new SingleRankCommunicator("dp"), 4)) {
                assertEquals(2, two.buckets().size());
                assertEquals(buffer.numel(), two.buckets().get(0).to());
                assertEquals(two.buckets().get(1).to(), two.buckets().get(0).from());
                assertEquals(0, two.buckets().get(1).from());
                assertEquals(List.of(model.biases.get(3), model.weights.get(3), model.biases.get(2), model.weights.get(2)),
                        two.buckets().get(0).parameters());
                assertEquals(2 * LAYERS, tiny.buckets().size(), "a parameter larger than the cap gets its own bucket");
                assertEquals(GradientBuckets.DEFAULT_CAP_BYTES, 25L * 1024 * 1024);
            }
        }
    }

    @Test
    void listenerRefusesUseOutsideStartAndFinish() {
        try (NDManager m = Torch.engine().newBaseManager()) {
            Mlp model = new Mlp();
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 1, m);
                 GradientBuckets buckets = new GradientBuckets(buffer, new SingleRankCommunicator("dp"))) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> backward(model, m, 0, 0, buckets));
                assertTrue(e.getMessage().contains("startBackward"), e.getMessage());
                assertThrows(IllegalStateException.class, buckets::finishBackward);
                buckets.startBackward(true);
                assertThrows(IllegalStateException.class, () -> buckets.startBackward(true));
            }
        }
    }
}
