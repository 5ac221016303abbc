package io.tessera.optim.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Scalars;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.optim.AdamW;
import io.tessera.optim.Lamb;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Every ZeRO stage at data-parallel degree 2 trains a small model to the same parameters as one
 * process on the same global batch; model-state memory follows the ZeRO formula; bucket reductions
 * start while backward is still running.
 */
class ZeroStagesTest {

    static final int IN = 12;
    static final int HIDDEN = 40;
    static final int GLOBAL_BATCH = 8;
    static final int STEPS = 20;

    /** Two linear layers with biases and a LayerNorm-like gain: weights decayed, biases and gain not. */
    static final class Mlp extends Module {
        final Parameter w1 = register("w1", Parameter.of(new Shape(HIDDEN, IN), Initializer.normal(0.2f)));
        final Parameter b1 = register("b1", Parameter.of(new Shape(HIDDEN), Partition.REPLICATED, Initializer.normal(0.1f), false));
        final Parameter gain = register("gain", Parameter.of(new Shape(HIDDEN), Partition.REPLICATED, Initializer.ones(), false));
        final Parameter w2 = register("w2", Parameter.of(new Shape(3, HIDDEN), Initializer.normal(0.2f)));
        final Parameter b2 = register("b2", Parameter.of(new Shape(3), Partition.REPLICATED, Initializer.zeros(), false));

        /** Sum over the rows of squared error, divided by the global batch size (so ranks' sums add up). */
        Var loss(Tape tape, NDArray x, NDArray y) {
            Var h = tape.apply1("layer1", false, (ctx, in) -> new NDList(in.get(0).matMul(ctx.param(w1).transpose())
                    .add(ctx.param(b1)).tanh().mul(ctx.param(gain))), tape.constant(x));
            Var out = tape.apply1("layer2", false, (ctx, in) -> new NDList(in.get(0).matMul(ctx.param(w2).transpose())
                    .add(ctx.param(b2))), h);
            return tape.apply1("loss", false, (ctx, in) -> new NDList(in.get(0).sub(in.get(1)).square().sum()
                    .div(Scalars.of(in.get(0), GLOBAL_BATCH))), out, tape.constant(y));
        }
    }

    static OptimizerFactory optimizer(String name) {
        return switch (name) {
            case "adamw" -> (range, norms, m) -> new AdamW(AdamW.Config.builder().weightDecay(0.1).build(), range, m);
            case "lamb" -> (range, norms, m) -> new Lamb(Lamb.Config.builder().weightDecay(0.1).build(), range, m, norms);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** Trains STEPS steps; rank r of the data-parallel group takes its contiguous slice of each global batch. */
    static float[] train(ParallelContext ctx, int stage, String opt, int microBatches, long bucketBytes, List<String> trace,
                         List<ModelStateMemory> memory) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            Mlp model = new Mlp();
            try (DataParallelOptimizer dpo = DataParallelOptimizer.create(stage,
                    new DataParallelOptimizer.Spec(model, 11, ctx, optimizer(opt), bucketBytes, m))) {
                int perRank = GLOBAL_BATCH / ctx.dataSize();
                int perMicro = perRank / microBatches;
                for (int step = 0; step < STEPS; step++) {
                    NDArray x = Rng.normal(m, new Shape(GLOBAL_BATCH, IN), 0f, 1f, 1000 + step);
                    NDArray y = Rng.normal(m, new Shape(GLOBAL_BATCH, 3), 0f, 1f, 2000 + step);
                    for (int mb = 0; mb < microBatches; mb++) {
                        int from = ctx.dataRank() * perRank + mb * perMicro;
                        try (Tape tape = new Tape(m, step, true); MicroBatch micro = dpo.microBatch(tape, mb == microBatches - 1)) {
                            micro.backward(model.loss(tape, x.get(from + ":" + (from + perMicro)), y.get(from + ":" + (from + perMicro))));
                        }
                    }
                    if (trace != null && step == 0) {
                        trace.addAll(dpo.trace());
                    }
                    dpo.step(1e-2, 0.5);
                    x.close();
                    y.close();
                }
                if (memory != null) {
                    memory.add(dpo.memory());
                }
                List<float[]> values = new ArrayList<>();
                for (Parameter p : dpo.buffer().list()) {
                    NDArray v = dpo instanceof ZeroStage3 z3 ? z3.gather(p, m) : p.data();
                    values.add(v.toFloatArray());
                }
                return concat(values);
            }
        }
    }

    static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int o = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, o, a.length);
            o += a.length;
        }
        return out;
    }

    static double maxRelDiff(float[] a, float[] ref) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }

    @ParameterizedTest(name = "ZeRO-{0} with {1}, DP=2")
    @CsvSource({"0,adamw", "1,adamw", "2,adamw", "3,adamw", "0,lamb", "1,lamb", "2,lamb", "3,lamb"})
    void dataParallelTrainingMatchesOneProcess(int stage, String opt) {
        float[] reference = train(ParallelContext.single(), 0, opt, 1, Bucket.DEFAULT_BYTES, null, null);
        List<float[]> ranks = LocalCluster.run(2, Duration.ofSeconds(60),
                ctx -> train(ctx, stage, opt, 1, 1024, null, null));
        for (float[] r : ranks) {
            double rel = maxRelDiff(r, reference);
            assertTrue(rel <= 1e-5, "ZeRO-" + stage + " " + opt + ": parameters after " + STEPS + " steps differ by " + rel);
        }
    }

    @Test
    void gradientAccumulationOfFourMicroBatchesEqualsOneBatch() {
        float[] reference = train(ParallelContext.single(), 0, "adamw", 1, Bucket.DEFAULT_BYTES, null, null);
        float[] accumulated = train(ParallelContext.single(), 0, "adamw", 4, Bucket.DEFAULT_BYTES, null, null);
        assertTrue(maxRelDiff(accumulated, reference) <= 1e-5);
        for (int stage : new int[] {1, 2}) {
            List<float[]> ranks = LocalCluster.run(2, Duration.ofSeconds(60), ctx -> train(ctx, stage, "adamw", 2, 1024, null, null));
            assertTrue(maxRelDiff(ranks.get(0), reference) <= 1e-5, "ZeRO-" + stage + " with 2 micro-batches per rank");
        }
    }

    @Test
    void modelStateBytesFollowTheZeroFormula() {
        for (int nd : new int[] {2, 4}) {
            for (int stage = 0; stage <= 3; stage++) {
                int s = stage;
                List<ModelStateMemory> mem = java.util.Collections.synchronizedList(new ArrayList<>());
                LocalCluster.run(ParallelLayout.of(nd, 1, 1), Duration.ofSeconds(60), ctx -> train(ctx, s, "adamw", 1, 1024, null, mem));
                for (ModelStateMemory r : mem) {
                    System.out.println(r);
                    assertEquals(s, r.stage());
                    assertTrue(Math.abs(r.ratio() - 1) <= 0.05, "Nd=" + nd + ": " + r);
                }
            }
        }
    }

    @Test
    void bucketReductionsStartBeforeBackwardEnds() {
        List<List<String>> traces = LocalCluster.run(2, Duration.ofSeconds(60), ctx -> {
            List<String> t = new ArrayList<>();
            train(ctx, 0, "adamw", 1, 200, t, null);
            return t;
        });
        List<String> t = traces.get(0);
        t.forEach(System.out::println);
        int end = -1;
        int firstBucket = -1;
        for (int i = 0; i < t.size(); i++) {
            if (t.get(i).contains("backward ended")) {
                end = i;
            } else if (firstBucket < 0 && t.get(i).contains("after node")) {
                firstBucket = i;
            }
        }
        assertTrue(firstBucket >= 0 && firstBucket < end, "a bucket started during backward: " + t);
    }

    @ParameterizedTest(name = "ZeRO-{0}, DP=2")
    @CsvSource({"0", "1", "2", "3"})
    void parametersSetWhileWholeAreKeptByEveryStage(int stage) {
        List<float[]> ranks = LocalCluster.run(2, Duration.ofSeconds(60), ctx -> {
            try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
                Mlp model = new Mlp();
                try (DataParallelOptimizer dpo = DataParallelOptimizer.create(stage,
                        new DataParallelOptimizer.Spec(model, 11, ctx, optimizer("adamw"), 256, m))) {
                    // copyInto writes through the parameter's view of the flat buffer (NDArray.set would rebind it instead)
                    dpo.setParameters(() -> Tensors.copyInto(model.w2.data(), m.arange(3f * HIDDEN).reshape(3, HIDDEN)));
                    float[][] seen = new float[1][];
                    dpo.withFullParameters(() -> seen[0] = model.w2.data().toFloatArray());
                    return seen[0];
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        for (float[] r : ranks) {
            for (int i = 0; i < r.length; i++) {
                assertEquals(i, r[i], 0f, "element " + i);
            }
        }
    }
}
