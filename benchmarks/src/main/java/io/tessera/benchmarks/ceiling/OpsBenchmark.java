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
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.core.tape.NodeContext;
import io.tessera.models.TransformerModel;
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
import java.util.function.Function;

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
 *                 access make them; adamw: DataParallelOptimizer.step over the model's own parameters,
 *                 ZeRO 0, one rank)
 *   gemm          each distinct linear layer (tokens b·s × in × out) through Gemms.current(): forward,
 *                 input gradient, weight gradient added in place, as LinearFunction runs them; the rate is
 *                 Σ count·FLOPs / Σ count·seconds over one step's layers and head
 *   rounds        after the warm-up, every case once per round (round-robin), so that each sees the same
 *                 spread of other processes' load; each case cycles through enough input copies (64 MiB)
 *                 that it reads memory, not cache, as a step does
 * </pre>
 *
 * <p>Thread safety: a process entry point; sets process-wide thread counts.
 */
public final class OpsBenchmark {

    private static final double DROPOUT = 0.1;

    /** Bytes of inputs a case cycles through: beyond the last-level cache. */
    private static final long ROTATE_BYTES = 64L << 20;

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
        out.printf(Locale.ROOT, "bench ops: %s (h %d, A %d, f %d, V' %d), %d threads, %d warm-up + %d timed rounds, load %s%n",
                shape.label(), h, a, f, v, o.threads(), o.warmup(), o.reps(), env.get("loadavg"));
        ParallelContext single = ParallelContext.single();
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            SplittableRandom rnd = new SplittableRandom(1234);
            NDArray maskBias = ParallelSelfAttention.maskBias(m, m.ones(new Shape(b, s), DataType.INT64), false, b, s);
            Dropout dropout = new Dropout(DROPOUT, Dropout.Region.REPLICATED, new TensorParallelRng(0));
            double sqrtD = Math.sqrt((double) h / a);
            Shape th = new Shape(tokens, h);
            Shape tf = new Shape(tokens, f);
            Shape scores = new Shape(b, a, s, s);
            Shape table = new Shape(v, h);
            NDArray gain = m.ones(new Shape(h));
            NDArray shift = m.zeros(new Shape(h));
            NDArray bias = m.randomNormal(new Shape(f));
            NDArray ids = m.create(randomInts(rnd, (int) tokens, c.vocabSize(), 1.0), new Shape(b, s));
            NDArray labels = m.create(randomInts(rnd, (int) tokens, c.vocabSize(), 0.15), new Shape(b, s));
            NDArray tableGrad = m.zeros(table);

            List<Case> cases = new ArrayList<>();
            cases.add(bare(m, OpClass.ADD, th, 2, false, x -> x[0].add(x[1]), null));
            cases.add(bare(m, OpClass.BIAS, tf, 1, true, x -> x[0].addi(bias), x -> x[0].sum(new int[] {0})));
            cases.add(bare(m, OpClass.ACCUMULATE, table, 1, true, x -> tableGrad.addi(x[0]), null));
            int d = h / a;
            Shape heads3 = new Shape((long) b * a, s, d);
            cases.add(node(m, OpClass.SCORE_PRODUCTS, heads3, List.of(m.randomNormal(heads3), m.randomNormal(heads3)), List.of(),
                    (ctx, in) -> in.get(0).matMul(in.get(1).transpose(0, 2, 1)).matMul(in.get(2)), scores.size()));
            cases.add(node(m, OpClass.SCALE, scores, List.of(), (ctx, in) -> in.get(0).div(Scalars.of(in.get(0), sqrtD))));
            cases.add(node(m, OpClass.MASK, scores, List.of(maskBias), (ctx, in) -> in.get(0).add(in.get(1))));
            cases.add(node(m, OpClass.SOFTMAX, scores, List.of(), (ctx, in) -> in.get(0).softmax(-1)));
            cases.add(node(m, OpClass.DROPOUT, scores, List.of(), (ctx, in) -> dropout.apply(ctx, in.get(0), 0)));
            cases.add(node(m, OpClass.GELU, tf, List.of(), (ctx, in) -> Gelu.EXACT.apply(in.get(0))));
            cases.add(node(m, OpClass.LAYER_NORM, th, List.of(gain, shift), List.of(), (ctx, in) -> JniUtils.layerNorm(
                    (PtNDArray) in.get(0), new Shape(h), (PtNDArray) in.get(1), (PtNDArray) in.get(2), c.layerNormEps()),
                    th.size()));
            cases.add(node(m, OpClass.HEADS, new Shape(b, s, h), List.of(),
                    (ctx, in) -> in.get(0).reshape(b, s, a, h / a).transpose(0, 2, 1, 3).reshape((long) b * a, s, h / a)));
            cases.add(node(m, OpClass.EMBEDDING, table, List.of(ids),
                    (ctx, in) -> JniUtils.embedding((PtNDArray) in.get(1), (PtNDArray) in.get(0), false)));
            cases.add(taped(m, OpClass.CROSS_ENTROPY, new Shape(b, s, v), tokens * v, (tape, x) -> VocabParallelCrossEntropy.apply(tape,
                    single.tensor(), "loss", x, tape.constant(labels), c.vocabSize())));
            TransformerModel model = TransformerModel.of(c, single);
            try (DataParallelOptimizer optimizer = DataParallelOptimizer.create(0, new DataParallelOptimizer.Spec(model, 1,
                    single, OptimizerKind.parse("adamw").factory(0.01), 25L * 1024 * 1024, m))) {
                long parameters = 0;
                for (Parameter p : model.namedParameters().values()) {
                    parameters += p.shape().size();
                }
                cases.add(new Case(OpClass.ADAMW, "the model's " + model.namedParameters().size() + " tensors", parameters, 0,
                        () -> {
                            long t0 = System.nanoTime();
                            optimizer.step(1e-4, 1.0);
                            return new double[] {(System.nanoTime() - t0) / 1e9, 0};
                        }));
                Gemm gemm = Gemms.current();
                if (o.gemm()) {
                    int l = c.numLayers();
                    int[][] products = {{h, h, 4 * l + 1}, {h, f, l}, {f, h, l}, {h, v, 1}};   // in, out, layers per step
                    for (int[] p : products) {
                        cases.add(product(m, gemm, tokens, p[0], p[1], p[2]));
                    }
                }
                for (Case k : cases) {
                    for (int i = 0; i < o.warmup(); i++) {
                        k.run.once();
                    }
                }
                // Round-robin: every case once per round, so that each class sees the same spread of load from
                // other processes as the others (and as a training step measured around the same time).
                for (int r = 0; r < o.reps(); r++) {
                    for (Case k : cases) {
                        k.samples.add(k.run.once());
                    }
                }
                env.put("loadavg_end", Environment.loadAverage());
                return report(o, shape, env, cases, gemm.name(), out);
            }
        }
    }

    private static OpsReport report(OpsOptions o, OpsReport.Shape shape, Map<String, String> env, List<Case> cases,
            String strategy, PrintStream out) {
        List<OpsReport.Op> ops = new ArrayList<>();
        List<OpsReport.Product> rates = new ArrayList<>();
        double flops = 0;
        double seconds = 0;
        for (Case k : cases) {
            OpsReport.Op op = k.op();
            if (k.opClass != null) {
                ops.add(op);
                out.printf(Locale.ROOT, "  %-14s %-24s %9.3f ms  %.4f ns/element%n", op.opClass().key(), op.tensor(),
                        1e3 * op.seconds(), 1e9 * op.secondsPerElement());
            } else {
                rates.add(new OpsReport.Product(k.tensor, k.count, k.elements / op.seconds() / 1e9));
                out.printf(Locale.ROOT, "  gemm %-19s %9.3f ms  %.1f GFLOP/s (%s)%n", k.tensor, 1e3 * op.seconds(),
                        k.elements / op.seconds() / 1e9, strategy);
                flops += k.count * (double) k.elements;
                seconds += k.count * op.seconds();
            }
        }
        OpsReport.Gemm g = o.gemm() ? new OpsReport.Gemm(strategy, flops / seconds / 1e9, rates) : null;
        return new OpsReport(shape, o.threads(), o.warmup(), o.reps(), ops, g, env);
    }

    /**
     * Inputs of one case, enough copies that cycling through them reads memory rather than cache, as a step
     * does (its activations are far larger than the cache): at least {@link #ROTATE_BYTES}, 2 to 32 sets.
     */
    private static NDArray[][] inputs(NDManager m, Shape shape, int perSet) {
        long bytes = 4 * shape.size() * perSet;
        int sets = (int) Math.max(2, Math.min(32, (ROTATE_BYTES + bytes - 1) / bytes));
        NDArray[][] x = new NDArray[sets][perSet];
        for (int i = 0; i < sets; i++) {
            for (int j = 0; j < perSet; j++) {
                x[i][j] = m.randomNormal(shape);
            }
        }
        return x;
    }

    /** A bare NDArray call (and an optional backward one); the forward's result is closed unless it works in place. */
    private static Case bare(NDManager m, OpClass c, Shape shape, int perSet, boolean inPlace,
            Function<NDArray[], NDArray> forward, Function<NDArray[], NDArray> backward) {
        NDArray[][] x = inputs(m, shape, perSet);
        int[] next = {0};
        return new Case(c, shape.toString(), shape.size(), 0, () -> {
            NDArray[] in = x[next[0]++ % x.length];
            long t0 = System.nanoTime();
            NDArray y = forward.apply(in);
            long t1 = System.nanoTime();
            NDArray g = backward == null ? null : backward.apply(in);
            long t2 = backward == null ? t1 : System.nanoTime();
            if (!inPlace) {
                y.close();
            }
            if (g != null) {
                g.close();
            }
            return new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9};
        });
    }

    /** A tape node over one variable of {@code shape} and {@code extra} constants; its cost per element of {@code shape}. */
    private static Case node(NDManager m, OpClass c, Shape shape, List<NDArray> extra, Body body) {
        return node(m, c, shape, List.of(), extra, body, shape.size());
    }

    /**
     * A tape node over one variable of {@code shape}, more {@code variables} (gradients wanted, as a
     * layer's parameters or other activations) and {@code constants}; its cost per one of {@code elements}.
     */
    private static Case node(NDManager m, OpClass c, Shape shape, List<NDArray> variables, List<NDArray> constants, Body body,
            long elements) {
        return taped(m, c, shape, elements, (tape, x) -> {
            List<Var> in = new ArrayList<>();
            in.add(x);
            variables.forEach(k -> in.add(tape.variable(k)));
            constants.forEach(k -> in.add(tape.constant(k)));
            return tape.apply1(c.key(), false, (ctx, l) -> new NDList(body.apply(ctx, l)), in.toArray(new Var[0]));
        });
    }

    /** An op recorded on a fresh tape from one variable of {@code shape}: forward, then backward with a random cotangent. */
    private static Case taped(NDManager m, OpClass c, Shape shape, long elements, Recorder recorder) {
        NDArray[][] x = inputs(m, shape, 1);
        int[] next = {0};
        return new Case(c, shape.toString(), elements, 0, () -> {
            NDArray in = x[next[0]++ % x.length][0];
            try (Tape tape = new Tape(m, next[0], true)) {
                Var v = tape.variable(in);
                long t0 = System.nanoTime();
                Var y = recorder.record(tape, v);
                long t1 = System.nanoTime();
                NDArray cot = tape.manager().randomNormal(y.value().getShape());
                long t2 = System.nanoTime();
                tape.backward(y, cot);
                long t3 = System.nanoTime();
                return new double[] {(t1 - t0) / 1e9, (t3 - t2) / 1e9};
            }
        });
    }

    /**
     * A linear layer on Tessera's strategy: forward, input gradient, weight gradient added in place
     * (elements = FLOPs). Every operand (input, weight, output gradient, weight gradient) rotates, so that
     * none stays in cache between runs, as in a step, where other layers run between two uses of a weight.
     */
    private static Case product(NDManager m, Gemm gemm, long tokens, int in, int out, int count) {
        long setBytes = 4L * (tokens * in + tokens * out + 2L * in * out);
        int sets = (int) Math.max(2, Math.min(32, (ROTATE_BYTES + setBytes - 1) / setBytes));
        NDArray[][] ops = new NDArray[sets][];
        for (int i = 0; i < sets; i++) {
            ops[i] = new NDArray[] {m.randomNormal(new Shape(tokens, in)),
                m.randomNormal(0, 0.02f, new Shape(out, in), DataType.FLOAT32),
                m.randomNormal(0, 0.02f, new Shape(tokens, out), DataType.FLOAT32), m.zeros(new Shape(out, in))};
        }
        int[] next = {0};
        return new Case(null, tokens + "x" + in + "x" + out, (long) (3 * 2.0 * tokens * in * out), count, () -> {
            NDArray[] o = ops[next[0]++ % sets];
            long t0 = System.nanoTime();
            try (NDManager rep = m.newSubManager()) {
                gemm.linearForward(o[0], o[1], true, rep);
                gemm.linearInputGradient(o[2], o[1], true, rep);
                gemm.linearWeightGradientAdd(o[2], o[0], true, o[3]);
            }
            return new double[] {(System.nanoTime() - t0) / 1e9, 0};
        });
    }

    private static long[] randomInts(SplittableRandom rnd, int n, int bound, double labelled) {
        long[] x = new long[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextDouble() < labelled ? rnd.nextInt(bound) : VocabParallelCrossEntropy.IGNORE_INDEX;
        }
        return x;
    }

    /** One op's body inside a tape node: its inputs are the variable, the other variables, then the constants. */
    private interface Body {
        NDArray apply(NodeContext ctx, NDList inputs);
    }

    /** Records an op on a tape from one variable and returns its output. */
    private interface Recorder {
        Var record(Tape tape, Var x);
    }

    /** One timed run: forward and backward seconds. */
    private interface Run {
        double[] once();
    }

    /** One thing timed: an op class (cost per element) or, with a null class, a product (elements = its FLOPs). */
    private static final class Case {
        final OpClass opClass;
        final String tensor;
        final long elements;
        final int count;
        final Run run;
        final List<double[]> samples = new ArrayList<>();

        Case(OpClass opClass, String tensor, long elements, int count, Run run) {
            this.opClass = opClass;
            this.tensor = tensor;
            this.elements = elements;
            this.count = count;
            this.run = run;
        }

        /** @return the medians; a product is reported under a placeholder class and read for its seconds only */
        OpsReport.Op op() {
            List<Double> fw = new ArrayList<>();
            List<Double> bw = new ArrayList<>();
            List<Double> total = new ArrayList<>();
            for (double[] r : samples) {
                fw.add(Math.max(r[0], 1e-9));
                bw.add(Math.max(r[1], 1e-9));
                total.add(Math.max(r[0] + r[1], 1e-9));
            }
            boolean noBackward = samples.stream().allMatch(r -> r[1] == 0);
            return new OpsReport.Op(opClass == null ? OpClass.ADD : opClass, tensor, elements, new Samples(fw).median(),
                    noBackward ? 0 : new Samples(bw).median(), new Samples(total).median());
        }
    }
}
