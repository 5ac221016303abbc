package io.tessera.benchmarks.report;

import io.tessera.core.HugePages;
import io.tessera.core.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Facts about the machine and libraries a report records next to its figures.
 *
 * <p>Thread safety: stateless.
 */
public final class Environment {

    private Environment() {}

    /**
     * @return {@code time}, {@code cpu}, {@code cores}, {@code os}, {@code java}, {@code libtorch},
     *     libtorch's thread count, the load average when the run started (other processes' load on a
     *     shared machine slows every figure), and the memory settings that change CPU step times several
     *     tens of percent: {@code glibc_tunables} ({@code glibc.malloc.hugetlb=1}, which {@code bin/tessera}
     *     sets, puts large tensors on transparent huge pages) and {@code transparent_hugepages} (the
     *     kernel's mode), in that order
     */
    public static Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("time", Instant.now().toString());
        m.put("cpu", cpuModel());
        m.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("libtorch", Torch.version());
        m.put("libtorch_threads", Integer.toString(Torch.threads()));
        m.put("loadavg", loadAverage());
        m.put("glibc_tunables", HugePages.glibcTunables());
        m.put("transparent_hugepages", HugePages.kernelMode());
        return m;
    }

    /** @return the 1, 5 and 15 minute load averages of {@code /proc/loadavg}, or {@code unknown} */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** @return the first {@code model name} of {@code /proc/cpuinfo}, or {@code unknown} */
    public static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown";
    }
}
