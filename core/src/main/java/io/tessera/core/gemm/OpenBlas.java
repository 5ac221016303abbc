package io.tessera.core.gemm;

import com.sun.jna.Library;
import com.sun.jna.Native;
import io.tessera.core.Torch;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;

/**
 * Loads OpenBLAS through the JavaCPP presets ({@code org.bytedeco:openblas}) and sets its thread count.
 *
 * <p>OpenBLAS keeps one thread pool per process, so its thread count is process-wide native state. On
 * first load it is set to libtorch's intra-op thread count, so that an OpenBLAS product and a libtorch
 * product use the same cores; {@link #setThreads} changes it (benchmarks set both to their
 * {@code --threads}).
 *
 * <p>Loading next to libtorch is safe: libtorch's own {@code sgemm_} stays bound to its statically linked
 * MKL (checked with {@code LD_DEBUG=bindings}), and the presets call {@code cblas_sgemm} in their own
 * {@code libopenblas_nolapack.so}.
 *
 * <p>Idle workers: after a product OpenBLAS's pool threads spin for {@code 2^OPENBLAS_THREAD_TIMEOUT}
 * cycles before sleeping (2^28, about 0.1 s, by default). Between products a training step runs
 * libtorch's own threads on the same cores, so spinning workers would take cores from them. Unless the
 * environment already sets it, {@link #load} sets {@code OPENBLAS_THREAD_TIMEOUT} to {@value
 * #THREAD_TIMEOUT} (about 30 µs) in the process environment before the library reads it.
 *
 * <p>Thread safety: all methods are thread-safe.
 */
public final class OpenBlas {

    /** The spin exponent set when the environment gives none: workers sleep after 2^16 cycles. */
    public static final int THREAD_TIMEOUT = 16;

    /** The C library's {@code setenv}, to set OpenBLAS's variables before it initialises. */
    private interface LibC extends Library {
        int setenv(String name, String value, int overwrite);
    }

    private static volatile boolean loaded;

    private OpenBlas() {}

    /**
     * Loads the native library once per process and matches its thread count to libtorch's.
     *
     * @throws IllegalStateException if the presets' native jar (classifier {@code linux-x86_64}) is missing
     */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (OpenBlas.class) {
            if (loaded) {
                return;
            }
            int torchThreads = Torch.threads();
            if (System.getenv("OPENBLAS_THREAD_TIMEOUT") == null) {
                try {
                    Native.load("c", LibC.class).setenv("OPENBLAS_THREAD_TIMEOUT", Integer.toString(THREAD_TIMEOUT), 0);
                } catch (LinkageError e) {
                    // no libc to call: OpenBLAS keeps its default spin, which costs speed, not correctness
                }
            }
            try {
                Loader.load(openblas.class);
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                throw new IllegalStateException("could not load OpenBLAS through JavaCPP; check that"
                        + " org.bytedeco:openblas and org.bytedeco:javacpp with classifier linux-x86_64 are on the"
                        + " class path", e);
            }
            openblas.blas_set_num_threads(torchThreads);
            loaded = true;
        }
    }

    /**
     * Sets OpenBLAS's thread count for the whole process.
     *
     * @param threads at least 1
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("OpenBLAS threads = " + threads + ": must be at least 1");
        }
        load();
        openblas.blas_set_num_threads(threads);
    }

    /**
     * Sets OpenBLAS's thread count if the library is already loaded; does nothing otherwise (it then
     * takes libtorch's count when it loads). {@link io.tessera.core.Torch#setThreads} calls it.
     *
     * @param threads at least 1
     */
    public static void setThreadsIfLoaded(int threads) {
        if (loaded) {
            setThreads(threads);
        }
    }

    /** @return OpenBLAS's thread count */
    public static int threads() {
        load();
        return openblas.blas_get_num_threads();
    }

    /** @return the presets' OpenBLAS version, e.g. {@code 0.3.30} */
    public static String version() {
        return openblas.OPENBLAS_VERSION.trim().replace("OpenBLAS ", "");
    }
}
