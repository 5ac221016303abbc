package io.tessera.benchmarks.ceiling;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.gemm.LibtorchGemm;
import io.tessera.core.gemm.OpenBlas;
import io.tessera.core.gemm.OpenBlasGemm;
import io.tessera.benchmarks.report.Samples;
import io.tessera.core.Devices;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures fp32 (and fp16) matrix-product rates of libtorch and OpenBLAS in this process.
 *
 * <p>For each shape {@code A[m×k]·B[k×n]} with uniform random operands:
 *
 * <ol>
 *   <li>libtorch fp32 ({@code NDArray.matMul}) and OpenBLAS fp32 ({@code cblas_sgemm} on zero-copy
 *       buffers), each writing a new output tensor per call as a layer's forward does, each run
 *       {@code warmup} times, then {@code reps} timed runs <em>interleaved</em> (libtorch, OpenBLAS,
 *       libtorch, ...), so that load from other processes falls on both alike; rate = {@code 2mnk / median}.
 *   <li>OpenBLAS's result is compared with libtorch's ({@code max|ΔC| / max|C|}).
 *   <li>libtorch fp16: the same operands converted, timed the same way (CPU fp16 products exist in
 *       libtorch 2.7.1); a failure is recorded, not thrown.
 *   <li>bf16 is recorded as unsupported and never attempted: DJL 0.35.1's PyTorch JNI has no bf16 (its
 *       dtype switch ends in a bare {@code throw;}), and creating a {@code BFLOAT16} array aborts the JVM.
 *       The PyTorch reference ({@code matmul_ceiling.py}) measures bf16 in its own process instead.
 * </ol>
 *
 * <p>Both backends run with the same thread count: libtorch's intra-op threads and OpenBLAS's pool are
 * set to {@code threads} first.
 *
 * <p>libtorch's product is timed as {@code NDArray.matMul} itself, not through {@link LibtorchGemm}: the
 * {@code Gemm} strategies accept CPU tensors only, and the same code times CUDA operands. On a CUDA
 * device OpenBLAS is left out, and each sample is {@value #GPU_BATCH} products launched back to back,
 * then one {@link Devices#synchronize}, divided by {@value #GPU_BATCH}.
 *
 * <p>Thread safety: not thread-safe (it sets process-wide thread counts); run one at a time.
 */
public final class MatmulCeiling {

    private final List<MatmulShape> shapes;
    private final int warmup;
    private final int reps;
    private final int threads;
    private final boolean openblas;
    private final boolean fp16;
    private final Device device;
    private final int productsPerSample;
    private final PrintStream log;

    /** Products per synchronised sample on a GPU. */
    public static final int GPU_BATCH = 20;

    /**
     * @param shapes products to time
     * @param warmup untimed runs per backend and shape
     * @param reps timed runs per backend and shape
     * @param threads intra-op threads for both backends
     * @param openblas whether to time OpenBLAS
     * @param fp16 whether to time libtorch fp16
     * @param log where progress lines go
     */
    public MatmulCeiling(List<MatmulShape> shapes, int warmup, int reps, int threads, boolean openblas, boolean fp16,
                         PrintStream log) {
        this(shapes, warmup, reps, threads, openblas, fp16, Device.cpu(), log);
    }

    /**
     * The same measurement on a device. On a CUDA device only libtorch is timed (OpenBLAS is a CPU
     * library), and each sample is {@value #GPU_BATCH} products launched back to back and then
     * synchronised ({@link Devices#synchronize}), divided by {@value #GPU_BATCH}: kernel launches return at
     * once, and one synchronisation per product would add its latency to every sample.
     *
     * @param shapes products to time
     * @param warmup untimed runs per backend and shape
     * @param reps timed runs per backend and shape
     * @param threads intra-op threads of the CPU backends
     * @param openblas whether to time OpenBLAS (ignored on a GPU)
     * @param fp16 whether to time libtorch fp16
     * @param device where the operands live
     * @param log where progress lines go
     */
    public MatmulCeiling(List<MatmulShape> shapes, int warmup, int reps, int threads, boolean openblas, boolean fp16,
                         Device device, PrintStream log) {
        this(shapes, warmup, reps, threads, openblas, fp16, device, device.isGpu() ? GPU_BATCH : 1, log);
    }

    /**
     * The measurement with an explicit sample size; tests use it to run the GPU's batched, synchronised
     * sampling on the CPU.
     *
     * @param shapes products to time
     * @param warmup untimed runs per backend and shape
     * @param reps timed runs per backend and shape
     * @param threads intra-op threads of the CPU backends
     * @param openblas whether to time OpenBLAS (ignored on a GPU)
     * @param fp16 whether to time libtorch fp16
     * @param device where the operands live
     * @param productsPerSample products launched per timed sample (the sample is divided by it)
     * @param log where progress lines go
     */
    MatmulCeiling(List<MatmulShape> shapes, int warmup, int reps, int threads, boolean openblas, boolean fp16,
                  Device device, int productsPerSample, PrintStream log) {
        if (shapes.isEmpty()) {
            throw new IllegalArgumentException("matmul ceiling: no shape; pass at least one MxKxN");
        }
        if (warmup < 0 || reps < 1 || threads < 1 || productsPerSample < 1) {
            throw new IllegalArgumentException("matmul ceiling: warmup = " + warmup + ", reps = " + reps + ", threads = "
                    + threads + ", products per sample = " + productsPerSample
                    + "; need warmup >= 0, reps >= 1, threads >= 1, products per sample >= 1");
        }
        this.shapes = List.copyOf(shapes);
        this.warmup = warmup;
        this.reps = reps;
        this.threads = threads;
        this.device = java.util.Objects.requireNonNull(device, "device");
        this.openblas = openblas && !device.isGpu();
        this.fp16 = fp16;
        this.productsPerSample = productsPerSample;
        this.log = log;
    }

    /**
     * Runs every measurement.
     *
     * @return the rows in order: per shape libtorch fp32, OpenBLAS fp32, libtorch fp16, bf16 (unsupported)
     */
    public List<MatmulMeasurement> measure() {
        Torch.setThreads(threads);
        OpenBlasGemm blas = null;
        if (openblas) {
            OpenBlas.setThreads(threads);
            blas = new OpenBlasGemm();
        }
        List<MatmulMeasurement> out = new ArrayList<>();
        Torch.GradMode noGrad = Torch.gradMode(false);
        try {
            for (MatmulShape shape : shapes) {
                out.addAll(measureShape(shape, blas));
            }
        } finally {
            noGrad.close();
        }
        return out;
    }

    /** One backend's {@code A·B} into a new tensor. */
    private interface Product {
        NDArray multiply(NDArray a, NDArray b);
    }

    private List<MatmulMeasurement> measureShape(MatmulShape shape, OpenBlasGemm blas) {
        List<MatmulMeasurement> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1f, 1f, new Shape(shape.m(), shape.k()), DataType.FLOAT32);
            NDArray b = m.randomUniform(-1f, 1f, new Shape(shape.k(), shape.n()), DataType.FLOAT32);
            Product torch = NDArray::matMul; // on any device; the result is attached to a's manager, m
            List<Product> backends = blas == null ? List.of(torch) : List.of(torch, (x, y) -> blas.multiply(x, false, y, false, m));
            for (int i = 0; i < warmup; i++) {
                for (Product p : backends) {
                    p.multiply(a, b).close();
                }
            }
            List<List<Double>> times = new ArrayList<>();
            for (int i = 0; i < backends.size(); i++) {
                times.add(new ArrayList<>());
            }
            Devices.synchronize(m);
            for (int r = 0; r < reps; r++) {
                for (int i = 0; i < backends.size(); i++) {
                    long t0 = System.nanoTime();
                    for (int j = 0; j < productsPerSample; j++) {
                        backends.get(i).multiply(a, b).close();
                    }
                    Devices.synchronize(m);
                    times.get(i).add((System.nanoTime() - t0) / 1e9 / productsPerSample);
                }
            }
            MatmulMeasurement t32 = new MatmulMeasurement(LibtorchGemm.NAME, "fp32", shape, MatmulMeasurement.Status.MEASURED,
                    new Samples(times.get(0)), 0, "libtorch " + Torch.version() + (device.isGpu() ? " on " + device
                            + " (cuBLAS, TF32 off as libtorch's default)" : " (DJL's build: MKL)")
                            + "; reference for the error column");
            out.add(t32);
            log(t32);
            if (blas != null) {
                double err;
                try (NDArray ref = a.matMul(b); NDArray c = blas.multiply(a, false, b, false, m)) {
                    err = Tensors.maxRelativeDifference(c, ref);
                }
                MatmulMeasurement o32 = new MatmulMeasurement(OpenBlasGemm.NAME, "fp32", shape,
                        MatmulMeasurement.Status.MEASURED, new Samples(times.get(1)), err,
                        "OpenBLAS " + OpenBlas.version() + " via JavaCPP on zero-copy buffers");
                out.add(o32);
                log(o32);
            }
            if (fp16) {
                MatmulMeasurement h = measureHalf(shape, a, b);
                out.add(h);
                log(h);
            }
        }
        MatmulMeasurement bf16 = MatmulMeasurement.notMeasured(LibtorchGemm.NAME, "bf16", shape,
                MatmulMeasurement.Status.UNSUPPORTED, "DJL 0.35.1's PyTorch JNI has no bfloat16: creating a BFLOAT16"
                        + " array aborts the JVM (bare throw; in its dtype switch), so it is never attempted");
        out.add(bf16);
        log(bf16);
        return out;
    }

    private MatmulMeasurement measureHalf(MatmulShape shape, NDArray a, NDArray b) {
        try (NDArray ah = a.toType(DataType.FLOAT16, false); NDArray bh = b.toType(DataType.FLOAT16, false)) {
            NDManager m = a.getManager();
            Samples s = Samples.time(warmup, reps, () -> {
                for (int j = 0; j < productsPerSample; j++) {
                    ah.matMul(bh).close();
                }
                Devices.synchronize(m);
            });
            s = new Samples(s.seconds().stream().map(x -> x / productsPerSample).toList());
            double err;
            try (NDArray ref = a.matMul(b); NDArray half = ah.matMul(bh); NDArray back = half.toType(DataType.FLOAT32, false)) {
                err = Tensors.maxRelativeDifference(back, ref);
            }
            return new MatmulMeasurement(LibtorchGemm.NAME, "fp16", shape, MatmulMeasurement.Status.MEASURED, s, err,
                    "operands and result in float16; error against the fp32 product");
        } catch (RuntimeException e) {
            return MatmulMeasurement.notMeasured(LibtorchGemm.NAME, "fp16", shape, MatmulMeasurement.Status.FAILED,
                    e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private void log(MatmulMeasurement m) {
        if (m.measured()) {
            log.printf(Locale.ROOT, "  %-9s %-4s %-15s %8.1f GFLOP/s median  %8.1f best  (%d runs)%n", m.backend(), m.dtype(),
                    m.shape(), m.gflops(), m.bestGflops(), m.samples().count());
        } else {
            log.printf(Locale.ROOT, "  %-9s %-4s %-15s %s: %s%n", m.backend(), m.dtype(), m.shape(), m.status(), m.note());
        }
    }
}
