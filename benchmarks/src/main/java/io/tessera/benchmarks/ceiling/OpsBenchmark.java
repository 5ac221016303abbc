package io.tessera.benchmarks.ceiling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.benchmarks.report.Environment;
import io.tessera.benchmarks.report.Samples;
import io.tessera.core.Scalars;
import io.tessera.core.Torch;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.gemm.OpenBlas;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.OptimizerKind;
import io.tessera.optim.plan.estimate.OpClass;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.ParallelSelfAttention;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code tessera bench ops}: what the non-GEMM work of a Tessera step costs per element on this machine,
 * and the rate the layers' products reach on Tessera's GEMM strategy: the calibration of
 * {@code plan --estimate --gpu cpu --ops-json}. Nothing here runs a training step.
 *
 * <pre>
 *   per OpClass   a tape node with the layer's own libtorch call (JniUtils.gelu, layerNorm, dropout,
 *                 softmax, VocabParallelCrossEntropy, ...) on a tensor of the model's shape, forward then
 *                 backward with a random cotangent; median over reps of forward + backward ÷ elements
 *                 (add, bias, accumulate: the bare NDArray calls, as Var, LinearFunction and the parameter
 *                 access make them;
 *                 adamw: DataParallelOptimizer.step over the given parameters, ZeRO 0, one rank)
 *   gemm          each distinct linear layer (tokens b·s × in × out) through Gemms.current(): forward,
 *                 input gradient, weight gradient added in place, as LinearFunction runs them; the rate is
 *                 Σ count·FLOPs / Σ count·seconds over one step's layers and head
 * </pre>
 *
 * <p>Thread safety: a process entry point; sets process-wide thread counts.
 */
public final class OpsBenchmark {

    private static final double DROPOUT = 0.1;

    private OpsBenchmark() {}

    /**
     * Parses, measures and reports.
     *
     * @param args see {@link OpsOptions#usage()}
     * @param out console
     * @return 0 on success, 2 for bad options
     */
    public static int run(String[] args, PrintStream out) {
        if (OpsOptions.wantsHelp(args)) {
            out.print(OpsOptions.usage());
            return 0;
        }
        OpsOptions o;
        try {
            o = OpsOptions.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.print(OpsOptions.usage());
            return 2;
        }
        OpsReport r = measure(o, out);
        out.println();
        out.print(r.table());
        if (o.json() != null) {
            try {
                r.write(o.json());
            } catch (IOException e) {
                throw new UncheckedIOException("could not write the ops report " + o.json() + ": " + e.getMessage(), e);
            }
            out.println("wrote " + o.json());
        }
        return 0;
    }

    /**
     * @param o options
     * @param out progress lines
     * @return the report
     */
    public static OpsReport measure(OpsOptions o, PrintStream out) {
        Torch.setThreads(o.threads());
        OpenBlas.setThreads(o.threads());
        TransformerConfig c = o.config();
        int b = o.batch();
        int s = o.seq();
        int h = c.hiddenSize();
        int a = c.numHeads();
        int f = c.intermediateSize();
        int v = c.paddedVocabSize(1);
        long tokens = (long) b * s;
        Map<String, String> env = Environment.describe();
        OpsReport.Shape shape = new OpsReport.Shape(o.model(), c.numLayers(), b, s, h, a, f, v);
        out.printf(Locale.ROOT, "bench ops: %s (h %d, A %d, f %d, V' %d), %d threads, %d warm-up + %d timed runs, load %s%n",
                shape.label(), h, a, f, v, o.threads(), o.warmup(), o.reps(), env.get("loadavg"));
        List<OpsReport.Op> ops = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Timer t = new Timer(m, o.warmup(), o.reps(), out);
            SplittableRandom rnd = new SplittableRandom(1234);
            NDArray th = m.randomNormal(new Shape(tokens, h));
            NDArray th2 = m.randomNormal(new Shape(tokens, h));
            NDArray tf = m.randomNormal(new Shape(tokens, f));
            NDArray scores = m.randomNormal(new Shape(b, a, s, s));
            NDArray maskBias = ParallelSelfAttention.maskBias(m, m.ones(new Shape(b, s), DataType.INT64), false, b, s);
            Dropout dropout = new Dropout(DROPOUT, Dropout.Region.REPLICATED, new TensorParallelRng(0));
            double sqrtD = Math.sqrt((double) h / a);

            ops.add(t.bare(OpClass.ADD, th, false, () -> th.add(th2), null));
            NDArray bias = m.randomNormal(new Shape(f));
            NDArray tf2 = tf.duplicate();
            ops.add(t.bare(OpClass.BIAS, tf, true, () -> tf2.addi(bias), () -> tf.sum(new int[] {0})));
            ops.add(t.node(OpClass.SCALE, scores, List.of(scores), List.of(),
                    (ctx, in) -> in.get(0).div(Scalars.of(in.get(0), sqrtD))));
            ops.add(t.node(OpClass.MASK, scores, List.of(scores), List.of(maskBias), (ctx, in) -> in.get(0).add(in.get(1))));
            ops.add(t.node(OpClass.SOFTMAX, scores, List.of(scores), List.of(), (ctx, in) -> in.get(0).softmax(-1)));
            ops.add(t.node(OpClass.DROPOUT, scores, List.of(scores), List.of(), (ctx, in) -> dropout.apply(ctx, in.get(0), 0)));
            ops.add(t.node(OpClass.GELU, tf, List.of(tf), List.of(), (ctx, in) -> Gelu.EXACT.apply(in.get(0))));
            NDArray gain = m.ones(new Shape(h));
            NDArray shift = m.zeros(new Shape(h));
            ops.add(t.node(OpClass.LAYER_NORM, th, List.of(th, gain, shift), List.of(),
                    (ctx, in) -> JniUtils.layerNorm((PtNDArray) in.get(0), new Shape(h), (PtNDArray) in.get(1),
                            (PtNDArray) in.get(2), c.layerNormEps())));
            NDArray bsh = th.reshape(b, s, h);
            ops.add(t.node(OpClass.HEADS, bsh, List.of(bsh), List.of(),
                    (ctx, in) -> in.get(0).reshape(b, s, a, h / a).transpose(0, 2, 1, 3).reshape((long) b * a, s, h / a)));
            NDArray ids = m.create(randomInts(rnd, (int) tokens, c.vocabSize(), 1.0), new Shape(b, s));
            NDArray table = m.randomNormal(new Shape(v, h));
            ops.add(t.node(OpClass.EMBEDDING, table, List.of(table), List.of(ids),
                    (ctx, in) -> JniUtils.embedding((PtNDArray) in.get(1), (PtNDArray) in.get(0), false)));
            NDArray tableGrad = m.zeros(new Shape(v, h));
            ops.add(t.bare(OpClass.ACCUMULATE, table, true, () -> tableGrad.addi(table), null));
            NDArray logits = m.randomNormal(new Shape(b, s, v));
            NDArray labels = m.create(randomInts(rnd, (int) tokens, c.vocabSize(), 0.15), new Shape(b, s));
            ParallelContext single = ParallelContext.single();
            ops.add(t.recorded(OpClass.CROSS_ENTROPY, logits, (tape, x) -> VocabParallelCrossEntropy.apply(tape,
                    single.tensor(), "loss", x, tape.constant(labels), c.vocabSize())));
            ops.add(adamW(m, o, single, out));

            OpsReport.Gemm gemm = o.gemm() ? gemmRate(m, o, tokens, h, f, v, c.numLayers(), out) : null;
            env.put("loadavg_end", Environment.loadAverage());
            return new OpsReport(shape, o.threads(), o.warmup(), o.reps(), ops, gemm, env);
        }
    }

    /** The optimizer step of {@code o.parameters()} parameters in 40 tensors, AdamW, clipping at 1. */
    private static OpsReport.Op adamW(NDManager m, OpsOptions o, ParallelContext single, PrintStream out) {
        int pieces = 40;
        long each = Math.max(1, o.parameters() / pieces);
        Module flat = new Flat(pieces, each);
        try (DataParallelOptimizer opt = DataParallelOptimizer.create(0, new DataParallelOptimizer.Spec(flat, 1, single,
                OptimizerKind.parse("adamw").factory(0.01), 25L * 1024 * 1024, m))) {
            Samples sm = Samples.time(o.warmup(), o.reps(), () -> opt.step(1e-4, 1.0));
            OpsReport.Op op = new OpsReport.Op(OpClass.ADAMW, "[" + pieces + " × " + each + "]", pieces * each, sm.median(), 0,
                    sm.median());
            out.printf(Locale.ROOT, "  %-14s %8.3f ms  %.4f ns/element%n", op.opClass().key(), 1e3 * op.seconds(),
                    1e9 * op.secondsPerElement());
            return op;
        }
    }

    /** The step's linear layers on Tessera's strategy: per shape, forward + input gradient + weight gradient. */
    private static OpsReport.Gemm gemmRate(NDManager m, OpsOptions o, long tokens, int h, int f, int v, int layers,
            PrintStream out) {
        Gemm gemm = Gemms.current();
        int[][] shapes = {{h, h, 4 * layers + 1}, {h, f, layers}, {f, h, layers}, {h, v, 1}}; // in, out, count
        List<OpsReport.Product> products = new ArrayList<>();
        double flops = 0;
        double seconds = 0;
        for (int[] sh : shapes) {
            int in = sh[0];
            int outF = sh[1];
            try (NDManager scope = m.newSubManager()) {
                NDArray x = scope.randomNormal(new Shape(tokens, in));
                NDArray w = scope.randomNormal(0, 0.02f, new Shape(outF, in), DataType.FLOAT32);
                NDArray dy = scope.randomNormal(0, 0.02f, new Shape(tokens, outF), DataType.FLOAT32);
                NDArray target = scope.zeros(new Shape(outF, in));
                Samples sm = Samples.time(Math.max(1, o.warmup()), o.reps(), () -> {
                    try (NDManager rep = scope.newSubManager()) {
                        gemm.linearForward(x, w, true, rep);
                        gemm.linearInputGradient(dy, w, true, rep);
                        gemm.linearWeightGradientAdd(dy, x, true, target);
                    }
                });
                double productFlops = 3 * 2.0 * tokens * in * outF;
                String label = tokens + "x" + in + "x" + outF;
                products.add(new OpsReport.Product(label, sh[2], productFlops / sm.median() / 1e9));
                out.printf(Locale.ROOT, "  gemm %-16s %8.1f GFLOP/s (%s)%n", label, productFlops / sm.median() / 1e9, gemm.name());
                flops += sh[2] * productFlops;
                seconds += sh[2] * sm.median();
            }
        }
        return new OpsReport.Gemm(gemm.name(), flops / seconds / 1e9, products);
    }

    private static long[] randomInts(SplittableRandom rnd, int n, int bound, double labelled) {
        long[] x = new long[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextDouble() < labelled ? rnd.nextInt(bound) : VocabParallelCrossEntropy.IGNORE_INDEX;
        }
        return x;
    }

    /** A module of {@code pieces} flat parameters, the optimizer benchmark's model. */
    private static final class Flat extends Module {
        Flat(int pieces, long each) {
            for (int i = 0; i < pieces; i++) {
                register("p" + i, Parameter.of(new Shape(each), Initializer.normal(0.02f)));
            }
        }
    }

    /** One op's body inside a tape node: inputs are the variables, then the constants. */
    private interface Body {
        NDArray apply(io.tessera.core.tape.NodeContext ctx, NDList inputs);
    }

    /** Records an op on a tape from one variable and returns its output. */
    private interface Recorder {
        Var record(Tape tape, Var x);
    }

    /** Times ops with warm-up and repetitions, forward and backward apart. */
    private record Timer(NDManager manager, int warmup, int reps, PrintStream out) {

        /**
         * A bare forward call (and an optional bare backward one) on the NDArray API; the forward's result
         * is closed unless it works in place ({@code addi} returns its receiver).
         */
        OpsReport.Op bare(OpClass c, NDArray like, boolean inPlace, java.util.function.Supplier<NDArray> forward,
                java.util.function.Supplier<NDArray> backward) {
            List<double[]> runs = new ArrayList<>();
            for (int i = 0; i < warmup + reps; i++) {
                long t0 = System.nanoTime();
                NDArray y = forward.get();
                long t1 = System.nanoTime();
                NDArray g = backward == null ? null : backward.get();
                long t2 = backward == null ? t1 : System.nanoTime();
                if (!inPlace) {
                    y.close();
                }
                if (g != null) {
                    g.close();
                }
                if (i >= warmup) {
                    runs.add(new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9});
                }
            }
            return row(c, like, runs);
        }

        /** A tape node over {@code variables} (gradients wanted) and {@code constants}. */
        OpsReport.Op node(OpClass c, NDArray like, List<NDArray> variables, List<NDArray> constants, Body body) {
            return timed(c, like, variables, constants, body, null);
        }

        /** An op that records itself on the tape (a TapeFunction), from one variable. */
        OpsReport.Op recorded(OpClass c, NDArray x, Recorder recorder) {
            return timed(c, x, List.of(x), List.of(), null, recorder);
        }

        private OpsReport.Op timed(OpClass c, NDArray like, List<NDArray> variables, List<NDArray> constants, Body body,
                Recorder recorder) {
            List<double[]> runs = new ArrayList<>();
            for (int i = 0; i < warmup + reps; i++) {
                try (Tape tape = new Tape(manager, 1000L + i, true)) {
                    List<Var> in = new ArrayList<>();
                    variables.forEach(x -> in.add(tape.variable(x)));
                    constants.forEach(x -> in.add(tape.constant(x)));
                    long t0 = System.nanoTime();
                    Var y = recorder != null ? recorder.record(tape, in.get(0))
                            : tape.apply1(c.key(), false, (ctx, l) -> new NDList(body.apply(ctx, l)), in.toArray(new Var[0]));
                    long t1 = System.nanoTime();
                    NDArray cot = tape.manager().randomNormal(y.value().getShape());
                    long t2 = System.nanoTime();
                    tape.backward(y, cot);
                    long t3 = System.nanoTime();
                    if (i >= warmup) {
                        runs.add(new double[] {(t1 - t0) / 1e9, (t3 - t2) / 1e9});
                    }
                }
            }
            return row(c, like, runs);
        }

        private OpsReport.Op row(OpClass c, NDArray like, List<double[]> runs) {
            List<Double> fw = new ArrayList<>();
            List<Double> bw = new ArrayList<>();
            List<Double> total = new ArrayList<>();
            for (double[] r : runs) {
                fw.add(Math.max(r[0], 1e-9));
                bw.add(Math.max(r[1], 1e-9));
                total.add(r[0] + r[1]);
            }
            long elements = like.getShape().size();
            boolean noBackward = runs.stream().allMatch(r -> r[1] == 0);
            OpsReport.Op op = new OpsReport.Op(c, like.getShape().toString(), elements, new Samples(fw).median(),
                    noBackward ? 0 : new Samples(bw).median(), new Samples(total).median());
            out.printf(Locale.ROOT, "  %-14s %-22s %8.3f ms  %.4f ns/element%n", c.key(), op.tensor(), 1e3 * op.seconds(),
                    1e9 * op.secondsPerElement());
            return op;
        }
    }
}
