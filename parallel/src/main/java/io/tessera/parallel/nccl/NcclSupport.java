package io.tessera.parallel.nccl;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Whether this JVM can run the NCCL backend, and if not, why.
 *
 * <p>The probe runs once, at the first call, in stages that stop at the first failure:
 * <ol>
 *   <li>Linux on x86_64 (the only platform whose JNI wrappers the build ships);
 *   <li>the CUDA driver library {@code libcuda.so.1} can be found — in {@code LD_LIBRARY_PATH},
 *       {@code java.library.path}, {@value #LIBRARY_PATH_ENV}, the {@code ld.so} cache or the usual
 *       driver folders — by looking at files only, so that a machine without CUDA loads nothing;
 *   <li>the JavaCPP presets load (their JNI wrappers need {@code libcudart.so.12} and
 *       {@code libnccl.so.2}; directories named in {@value #LIBRARY_PATH_ENV} or the system property
 *       {@value #LIBRARY_PATH_PROPERTY} are loaded first, so they need not be on
 *       {@code LD_LIBRARY_PATH});
 *   <li>the CUDA runtime sees at least one device.
 * </ol>
 * No stage throws: a missing library, class or device becomes the {@link #unavailableReason()}.
 *
 * <p>Thread safety: thread-safe; the probe's result is computed once and immutable.
 */
public final class NcclSupport {

    /** Environment variable: extra directories (path list) holding {@code libcudart.so.12}, {@code libnccl.so.2}. */
    public static final String LIBRARY_PATH_ENV = "TESSERA_CUDA_LIBRARY_PATH";

    /** System property with the same meaning as {@link #LIBRARY_PATH_ENV}; it wins when both are set. */
    public static final String LIBRARY_PATH_PROPERTY = "tessera.cuda.libraryPath";

    /** Where the probe stopped. */
    public enum Status {
        /** NCCL and at least one CUDA device can be used. */
        AVAILABLE,
        /** Not Linux on x86_64. */
        UNSUPPORTED_PLATFORM,
        /** The CUDA driver library {@code libcuda.so.1} is nowhere to be found. */
        NO_DRIVER,
        /** The presets' classes or their native libraries (cudart, NCCL) failed to load. */
        NATIVES_MISSING,
        /** The driver and libraries load but the CUDA runtime reports no usable device. */
        NO_DEVICE
    }

    /**
     * What the probe found.
     *
     * @param status where it stopped
     * @param reason why NCCL cannot be used, with the fix; empty when available
     * @param devices CUDA devices visible (0 unless the runtime was reached)
     * @param ncclVersion NCCL's version code, e.g. 22703 for 2.27.3 (0 unless loaded)
     * @param cudaRuntimeVersion e.g. 12090 (0 unless loaded)
     * @param cudaDriverVersion the newest CUDA version the driver supports, e.g. 12080 (0 unless loaded)
     */
    public record Probe(Status status, String reason, int devices, int ncclVersion, int cudaRuntimeVersion,
            int cudaDriverVersion) {

        /** @return whether NCCL can be used */
        public boolean available() {
            return status == Status.AVAILABLE;
        }

        /** @return a one-line summary for logs and {@code tessera doctor} */
        public String describe() {
            if (!available()) {
                return "NCCL unavailable (" + status + "): " + reason;
            }
            return String.format(Locale.ROOT, "NCCL %s, CUDA runtime %s, driver supports CUDA %s, %d device(s)",
                    ncclVersionText(ncclVersion), cudaVersionText(cudaRuntimeVersion), cudaVersionText(cudaDriverVersion),
                    devices);
        }

        static Probe unavailable(Status status, String reason) {
            return new Probe(status, reason, 0, 0, 0, 0);
        }
    }

    /** Folders where driver packages and container runtimes put {@code libcuda.so.1}. */
    private static final List<String> DRIVER_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib",
            "/usr/local/cuda/compat", "/usr/local/cuda/compat/lib");

    private static final String DRIVER_LIBRARY = "libcuda.so.1";
    private static final String FIX = "; use the Netty backend (DistributedJob / LocalCluster) on this machine, or run on"
            + " a Linux machine with an NVIDIA GPU, its driver, and libcudart.so.12 + libnccl.so.2 reachable through"
            + " LD_LIBRARY_PATH or " + LIBRARY_PATH_ENV;

    private static volatile Probe probe;

    private NcclSupport() {}

    /** @return whether NCCL and a CUDA device can be used in this JVM; never throws */
    public static boolean available() {
        return probe().available();
    }

    /** @return why NCCL cannot be used, with the fix; empty when it can; never throws */
    public static String unavailableReason() {
        return probe().reason();
    }

    /** @return the whole probe result (runs the probe at first call) */
    public static Probe probe() {
        Probe p = probe;
        if (p == null) {
            synchronized (NcclSupport.class) {
                p = probe;
                if (p == null) {
                    p = runProbe();
                    probe = p;
                }
            }
        }
        return p;
    }

    /**
     * Fails unless NCCL is available.
     *
     * @param what the operation asking, for the message
     * @throws IllegalStateException naming the reason and the fix
     */
    static void require(String what) {
        Probe p = probe();
        if (!p.available()) {
            throw new IllegalStateException(what + ": the NCCL backend is not available in this JVM (" + p.status() + "): "
                    + p.reason());
        }
    }

    private static Probe runProbe() {
        try {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                return Probe.unavailable(Status.UNSUPPORTED_PLATFORM, "the NCCL backend is built for linux-x86_64 only, this"
                        + " is " + os + "/" + arch + FIX);
            }
            List<Path> searched = driverSearchPath();
            Optional<String> driver = findDriver(searched, Path.of("/etc/ld.so.cache"));
            if (driver.isEmpty()) {
                return Probe.unavailable(Status.NO_DRIVER, "no CUDA driver: " + DRIVER_LIBRARY + " was not found in "
                        + searched.size() + " folders (LD_LIBRARY_PATH, java.library.path, " + LIBRARY_PATH_ENV
                        + ", driver folders) nor in the ld.so cache" + FIX);
            }
            List<String> preloaded = preloadUserLibraries();
            try {
                return NcclNative.probe(driver.get(), preloaded);
            } catch (LinkageError | RuntimeException e) {
                // UnsatisfiedLinkError (a .so missing), NoClassDefFoundError (presets jar absent, or a
                // class whose static initializer already failed), ExceptionInInitializerError
                return Probe.unavailable(Status.NATIVES_MISSING, "the CUDA driver was found (" + driver.get()
                        + ") but the NCCL/CUDA runtime bindings failed to load: " + rootMessage(e)
                        + "; hint: libcudart.so.12 and libnccl.so.2 must be reachable (PyTorch's pip wheels ship them in"
                        + " site-packages/nvidia/cuda_runtime/lib and site-packages/nvidia/nccl/lib)" + FIX);
            }
        } catch (Throwable t) { // the probe must never throw; report anything unforeseen as the reason
            return Probe.unavailable(Status.NATIVES_MISSING, "probing for NCCL failed: " + rootMessage(t) + FIX);
        }
    }

    /**
     * Looks for the CUDA driver library by file name only (no loading).
     *
     * @param dirs folders to look in
     * @param ldCache the {@code ld.so} cache file (its entries hold library names as plain strings)
     * @return where it was found, or empty
     */
    static Optional<String> findDriver(List<Path> dirs, Path ldCache) {
        for (Path dir : dirs) {
            Path candidate = dir.resolve(DRIVER_LIBRARY);
            if (Files.isRegularFile(candidate)) { // follows links: a dangling link does not count
                return Optional.of(candidate.toString());
            }
        }
        try {
            if (Files.isReadable(ldCache)
                    && new String(Files.readAllBytes(ldCache), StandardCharsets.ISO_8859_1).contains(DRIVER_LIBRARY)) {
                return Optional.of(DRIVER_LIBRARY + " (ld.so cache)");
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static List<Path> driverSearchPath() {
        Set<String> dirs = new LinkedHashSet<>();
        dirs.addAll(split(System.getenv("LD_LIBRARY_PATH")));
        dirs.addAll(split(System.getProperty("java.library.path")));
        dirs.addAll(userLibraryDirs());
        dirs.addAll(DRIVER_DIRS);
        List<Path> out = new ArrayList<>();
        for (String d : dirs) {
            out.add(Path.of(d));
        }
        return out;
    }

    private static List<String> userLibraryDirs() {
        String p = System.getProperty(LIBRARY_PATH_PROPERTY);
        return split(p != null ? p : System.getenv(LIBRARY_PATH_ENV));
    }

    /**
     * Loads {@code libcudart.so.12} and {@code libnccl.so.2} from the user's folders, if there, so that the
     * JNI wrappers' dependencies resolve by soname without {@code LD_LIBRARY_PATH}.
     */
    private static List<String> preloadUserLibraries() {
        List<String> loaded = new ArrayList<>();
        for (String lib : List.of("libcudart.so.12", "libnccl.so.2")) {
            for (String dir : userLibraryDirs()) {
                Path p = Path.of(dir, lib);
                if (Files.isRegularFile(p)) {
                    System.load(p.toAbsolutePath().toString());
                    loaded.add(p.toString());
                    break;
                }
            }
        }
        return loaded;
    }

    static List<String> split(String pathList) {
        List<String> out = new ArrayList<>();
        if (pathList != null) {
            for (String s : pathList.split(File.pathSeparator)) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
        }
        return out;
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        StringBuilder b = new StringBuilder(String.valueOf(t));
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
            b.append(" <- ").append(c);
        }
        return b.toString();
    }

    static String ncclVersionText(int code) {
        // NCCL_VERSION(X,Y,Z): X*1000+Y*100+Z before 2.9, X*10000+Y*100+Z from 2.9 on
        return code >= 20900 ? code / 10000 + "." + code / 100 % 100 + "." + code % 100
                : code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    static String cudaVersionText(int code) {
        return code / 1000 + "." + code % 1000 / 10;
    }
}
