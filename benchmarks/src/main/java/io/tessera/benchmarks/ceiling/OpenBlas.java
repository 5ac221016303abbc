package io.tessera.benchmarks.ceiling;

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
 * <p>Thread safety: all methods are thread-safe.
 */
public final class OpenBlas {

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
