package io.tessera.core.gemm;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import io.tessera.core.io.AtomicFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * This machine's GEMM choices, kept in a file so that every process on it (the ranks of one job, and
 * the next run of the same command) uses the same backend for the same product shape and thread count.
 * That is what makes the default {@code planned} strategy deterministic: a shape is timed once per
 * machine, not once per process.
 *
 * <pre>
 *   rank needs shape s ──▶ lock FILE.lock ──▶ read FILE ──▶ s known? use it
 *                                                      └─▶ else measure s, add it, write FILE (atomic)
 *                      ──▶ unlock
 * </pre>
 *
 * <p>The file: {@code {"t2 256x64x256 NT": "libtorch", ...}} (t: libtorch intra-op threads at decision
 * time). Its default place is {@link #defaultFile()}; {@value #PROPERTY} or {@value #ENV} name another
 * (a shared file system path makes the ranks of several hosts agree too). Deleting the file makes the
 * next process measure again.
 *
 * <p>Thread safety: thread-safe, and safe across processes (an exclusive file lock around each
 * decision).
 */
public final class GemmPlanCache {

    /** The system property naming the cache file. */
    public static final String PROPERTY = "tessera.gemm.plan";

    /** The environment variable naming the cache file (when the property is absent). */
    public static final String ENV = "TESSERA_GEMM_PLAN";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    /** One holder of the file lock per JVM: FileChannel.lock refuses a second holder in the same process. */
    private static final Object JVM_LOCK = new Object();

    private final Path file;

    /**
     * @param file the cache file (created on the first decision)
     */
    public GemmPlanCache(Path file) {
        this.file = Objects.requireNonNull(file, "file").toAbsolutePath();
    }

    /** @return the cache named by {@value #PROPERTY} / {@value #ENV}, else {@link #defaultFile()} */
    public static GemmPlanCache configured() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            value = System.getenv(ENV);
        }
        return new GemmPlanCache(value == null || value.isBlank() ? defaultFile() : Path.of(value.trim()));
    }

    /**
     * {@code $XDG_CACHE_HOME/tessera/gemm-plan-<machine>.json} (or {@code ~/.cache/...}), where
     * {@code <machine>} is a hash of the CPU model, core count and architecture: a copied home folder on
     * another machine does not carry its choices over.
     *
     * @return the default cache file
     */
    public static Path defaultFile() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        String machine = cpuModel() + "|" + Runtime.getRuntime().availableProcessors() + "|" + System.getProperty("os.arch");
        return base.resolve("tessera").resolve(String.format(Locale.ROOT, "gemm-plan-%08x.json", machine.hashCode()));
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /**
     * The backend recorded for {@code key}, or, when none is, the one {@code measure} picks, recorded for
     * every later caller on this machine.
     *
     * @param key the shape and thread count, e.g. {@code t2 256x64x256 NT}
     * @param measure times the candidates and returns the winner's name (called at most once, under the lock)
     * @return the backend name
     * @throws IOException if the file cannot be locked, read or written
     */
    public String decide(String key, Supplier<String> measure) throws IOException {
        synchronized (JVM_LOCK) {
            Files.createDirectories(file.getParent());
            Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = ch.lock()) {
                Map<String, String> all = read();
                String known = all.get(key);
                if (known != null) {
                    return known;
                }
                String chosen = measure.get();
                all.put(key, chosen);
                AtomicFiles.write(file, GSON.toJson(all).getBytes(StandardCharsets.UTF_8));
                return chosen;
            }
        }
    }

    /**
     * @return every recorded choice
     * @throws IOException if the file exists but cannot be read
     */
    public Map<String, String> read() throws IOException {
        if (!Files.isRegularFile(file)) {
            return new LinkedHashMap<>();
        }
        try {
            Map<String, String> m = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8),
                    new TypeToken<LinkedHashMap<String, String>>() {}.getType());
            return m == null ? new LinkedHashMap<>() : m;
        } catch (JsonParseException e) {
            throw new IOException(file + " is not a GEMM plan cache (" + e.getMessage() + "); delete it to measure again", e);
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc (not Linux): the core count and architecture still tell machines apart.
        }
        return "unknown-cpu";
    }

    @Override
    public String toString() {
        return file.toString();
    }
}
