package io.tessera.benchmarks.ceiling;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.gemm.Gemm;
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
        if (shapes.isEmpty()) {
            throw new IllegalArgumentException("matmul ceiling: no shape; pass at least one MxKxN");
        }
        if (warmup < 0 || reps < 1 || threads < 1) {
            throw new IllegalArgumentException("matmul ceiling: warmup = " + warmup + ", reps = " + reps + ", threads = "
                    + threads + "; need warmup >= 0, reps >= 1, threads >= 1");
        }
        this.shapes = List.copyOf(shapes);
        this.warmup = warmup;
        this.reps = reps;
        this.threads = threads;
        this.device = java.util.Objects.requireNonNull(device, "device");
        this.openblas = openblas && !device.isGpu();
        this.fp16 = fp16;
        this.log = log;
    }

    /**
     * Runs every measurement.
     *
     * @return the rows in order: per shape libtorch fp32, OpenBLAS fp32, libtorch fp16, bf16 (unsupported)
     */
    public List<MatmulMeasurement> measure() {
        Torch.setThreads(threads);
        Gemm blas = null;
        if (openblas) {
            OpenBlas.setThreads(threads);
            blas = new OpenBlasGemm();
        }
        Gemm torch = new LibtorchGemm();
        List<MatmulMeasurement> out = new ArrayList<>();
        Torch.GradMode noGrad = Torch.gradMode(false);
        try {
            for (MatmulShape shape : shapes) {
                out.addAll(measureShape(shape, torch, blas));
            }
        } finally {
            noGrad.close();
        }
        return out;
    }

    private List<MatmulMeasurement> measureShape(MatmulShape shape, Gemm torch, Gemm blas) {
        List<MatmulMeasurement> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1f, 1f, new Shape(shape.m(), shape.k()), DataType.FLOAT32);
            NDArray b = m.randomUniform(-1f, 1f, new Shape(shape.k(), shape.n()), DataType.FLOAT32);
            List<Gemm> backends = blas == null ? List.of(torch) : List.of(torch, blas);
            for (int i = 0; i < warmup; i++) {
                for (Gemm g : backends) {
                    g.multiply(a, false, b, false, m).close();
                }
            }
            List<List<Double>> times = new ArrayList<>();
            for (int i = 0; i < backends.size(); i++) {
                times.add(new ArrayList<>());
            }
            Devices.synchronize(m);
            int batch = device.isGpu() ? GPU_BATCH : 1;
            for (int r = 0; r < reps; r++) {
                for (int i = 0; i < backends.size(); i++) {
                    long t0 = System.nanoTime();
                    for (int j = 0; j < batch; j++) {
                        backends.get(i).multiply(a, false, b, false, m).close();
                    }
                    Devices.synchronize(m);
                    times.get(i).add((System.nanoTime() - t0) / 1e9 / batch);
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
                try (NDArray ref = torch.multiply(a, false, b, false, m); NDArray c = blas.multiply(a, false, b, false, m)) {
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
            int batch = device.isGpu() ? GPU_BATCH : 1;
            NDManager m = a.getManager();
            Samples s = Samples.time(warmup, reps, () -> {
                for (int j = 0; j < batch; j++) {
                    ah.matMul(bh).close();
                }
                Devices.synchronize(m);
            });
            s = new Samples(s.seconds().stream().map(x -> x / batch).toList());
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
