package io.tessera.core;

import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Entry point to the PyTorch engine behind DJL: loads it offline, reports versions and thread counts,
 * and switches libtorch's thread-local grad mode.
 *
 * <p>libtorch keeps grad mode per thread and a new thread starts with it <em>on</em>, while DJL turns it
 * off on the thread that loads the engine. Every Tessera thread that runs tensor ops therefore sets it
 * explicitly through {@link #gradMode(boolean)}.
 *
 * <p>Thread safety: all methods are safe to call from any thread; {@link #gradMode(boolean)} affects only
 * the calling thread.
 */
public final class Torch {

    private static volatile Engine engine;

    private Torch() {}

    /**
     * Loads the PyTorch engine (once per process) without touching the network.
     *
     * @return the loaded engine
     * @throws IllegalStateException if the native library cannot be loaded
     */
    public static Engine engine() {
        Engine e = engine;
        if (e == null) {
            synchronized (Torch.class) {
                e = engine;
                if (e == null) {
                    if (System.getProperty("ai.djl.offline") == null) {
                        System.setProperty("ai.djl.offline", "true");
                    }
                    try {
                        e = Engine.getEngine("PyTorch");
                    } catch (RuntimeException ex) {
                        throw new IllegalStateException(
                                "could not load DJL's PyTorch engine offline; check that ai.djl.pytorch:pytorch-native-cpu"
                                        + " (classifier linux-x86_64) is on the class path next to pytorch-jni", ex);
                    }
                    engine = e;
                }
            }
        }
        return e;
    }

    /** @return libtorch's version, e.g. {@code 2.7.1} */
    public static String version() {
        return engine().getVersion();
    }

    /** @return libtorch's intra-op thread count */
    public static int threads() {
        engine();
        return JniUtils.getNumThreads();
    }

    /** @return libtorch's inter-op thread count */
    public static int interopThreads() {
        engine();
        return JniUtils.getNumInteropThreads();
    }

    /**
     * Sets libtorch's intra-op thread count for this process, and OpenBLAS's when it is loaded (see
     * {@link io.tessera.core.gemm.OpenBlas}), so that both GEMM paths use the same cores.
     *
     * @param n threads, at least 1
     */
    public static void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads = " + n + ": must be at least 1");
        }
        engine();
        JniUtils.setNumThreads(n);
        io.tessera.core.gemm.OpenBlas.setThreadsIfLoaded(n);
    }

    /**
     * Switches grad mode on the calling thread and returns a scope that restores the previous mode.
     *
     * <pre>{@code
     * try (Torch.GradMode g = Torch.gradMode(true)) { ... ops recorded for autograd ... }
     * }</pre>
     *
     * @param enabled whether libtorch records operations for autograd
     * @return a scope restoring the previous mode on close
     */
    public static GradMode gradMode(boolean enabled) {
        engine();
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        return new GradMode(previous);
    }

    /**
     * Rejects data types that DJL 0.35.1's PyTorch JNI cannot represent. Its dtype switch ends in a bare
     * {@code throw;} for bf16, which terminates the JVM, so every path that could create or convert to
     * bf16 calls this first.
     *
     * @param type the requested type
     * @param what what the type is for, used in the message
     */
    public static void checkSupported(DataType type, String what) {
        if (type == DataType.BFLOAT16) {
            throw new UnsupportedOperationException(
                    what + ": bfloat16 is not supported by DJL 0.35.1's PyTorch JNI (creating a BFLOAT16 array"
                            + " aborts the JVM); use float16 or float32");
        }
    }

    /** Restores the grad mode that was in force before {@link #gradMode(boolean)}. */
    public static final class GradMode implements AutoCloseable {
        private final boolean previous;

        private GradMode(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            JniUtils.setGradMode(previous);
        }
    }
}
