package io.tessera.parallel.comm;

import ai.djl.pytorch.jni.JniUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import io.tessera.core.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps libtorch's element-wise kernels on the calling thread, so that a communication thread can
 * reduce a whole chunk in one libtorch call.
 *
 * <p>Why: a reduction of more than libtorch's grain size (32,768 elements) wakes its OpenMP pool, whose
 * spinning workers compete with the other ranks' communication for the few cores (measured on the
 * 2-core build machine: a 2 MB add took 0.3 to 3.9 ms that way, and 0.25 to 0.3 ms on one thread).
 * Cutting the chunk into grain-sized calls avoids the pool but costs a zero-copy wrap per call
 * (about 20 µs, as much as the add itself). So the communication threads set OpenMP's thread count to
 * one for themselves only: {@code omp_set_num_threads} changes the calling thread's OpenMP setting,
 * which is what libtorch's {@code at::get_num_threads()} reads, and leaves every other thread (the
 * model's compute) as it was. libtorch applies its own setting to a thread the first time it asks, so
 * {@link #pinCurrentThread()} asks first.
 *
 * <p>Thread safety: safe from any thread; affects only the calling thread.
 */
final class SerialTorch {

    private static final Logger LOG = LoggerFactory.getLogger(SerialTorch.class);
    private static final Function SET_THREADS = lookup();
    private static final ThreadLocal<Boolean> PINNED = ThreadLocal.withInitial(() -> false);

    private SerialTorch() {}

    /** Finds {@code omp_set_num_threads} in the OpenMP runtime libtorch loaded (its file name is hashed). */
    private static Function lookup() {
        try {
            Torch.engine();
            Optional<String> gomp = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(l -> l.contains("/libgomp") || l.contains("/libiomp"))
                    .map(l -> l.substring(l.indexOf('/')).trim()).findFirst();
            if (gomp.isEmpty()) {
                return null;
            }
            return NativeLibrary.getInstance(gomp.get()).getFunction("omp_set_num_threads");
        } catch (IOException | RuntimeException | LinkageError e) {
            LOG.debug("no OpenMP runtime found in this process ({}); reductions run in grain-sized calls", e.toString());
            return null;
        }
    }

    /**
     * Makes libtorch run element-wise kernels called from this thread on this thread alone.
     *
     * @return whether it worked (checked through libtorch); if not, nothing changed
     */
    static boolean pinCurrentThread() {
        if (PINNED.get()) {
            return true;
        }
        if (SET_THREADS == null) {
            return false;
        }
        try {
            if (JniUtils.getNumThreads() > 1) {     // also libtorch's per-thread initialisation, which must come first
                SET_THREADS.invoke(new Object[] {1});
            }
            boolean ok = JniUtils.getNumThreads() == 1;
            PINNED.set(ok);
            return ok;
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("could not keep libtorch on this thread ({}); reductions run in grain-sized calls", e.toString());
            return false;
        }
    }

    /** @return whether {@link #pinCurrentThread()} succeeded on this thread */
    static boolean pinned() {
        return PINNED.get();
    }
}
