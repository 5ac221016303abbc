package io.tessera.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process's large CPU tensors sit on transparent huge pages.
 *
 * <p>libtorch allocates every CPU tensor with {@code malloc}, and a training step's large tensors (the
 * {@code [tokens, vocabulary]} logits, activations, gradients) are fresh allocations each step. On 4 KiB
 * pages their first touch faults once per page, which on a virtual machine can cost more than the
 * arithmetic: 190 ms for a 125 MB tensor on the build VM, against 15 ms on 2 MiB pages. glibc 2.35 and
 * later asks the kernel for transparent huge pages on its allocations when started with
 * {@code GLIBC_TUNABLES=glibc.malloc.hugetlb=1}, which {@code bin/tessera} sets (and its child
 * processes inherit); a JVM started otherwise needs it in its environment. The kernel's mode
 * ({@code /sys/kernel/mm/transparent_hugepage/enabled}) must be {@code madvise} or {@code always}.
 *
 * <p>Thread safety: stateless.
 */
public final class HugePages {

    /** The glibc tunable that puts {@code malloc}'s memory on transparent huge pages. */
    public static final String TUNABLE = "glibc.malloc.hugetlb=1";

    private static final Path KERNEL_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private HugePages() {}

    /** @return {@code GLIBC_TUNABLES} as this process was started with, or {@code unset} */
    public static String glibcTunables() {
        String v = System.getenv("GLIBC_TUNABLES");
        return v == null ? "unset" : v;
    }

    /** @return whether {@code GLIBC_TUNABLES} holds {@link #TUNABLE} */
    public static boolean mallocRequested() {
        return (":" + glibcTunables() + ":").contains(":" + TUNABLE + ":");
    }

    /**
     * @return the selected mode of the kernel's transparent huge pages ({@code always}, {@code madvise} or
     *     {@code never}), or {@code unknown} where the file is missing (not Linux) or unreadable
     */
    public static String kernelMode() {
        try {
            return selectedMode(Files.readString(KERNEL_MODE));
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * @param sysfsLine the kernel's line, e.g. {@code always [madvise] never}
     * @return the bracketed choice, or the trimmed line when none is bracketed
     */
    static String selectedMode(String sysfsLine) {
        int open = sysfsLine.indexOf('[');
        int close = sysfsLine.indexOf(']', open + 1);
        return open >= 0 && close > open ? sysfsLine.substring(open + 1, close) : sysfsLine.trim();
    }

    /** @return one line for reports: whether large tensors get huge pages, and why not when they do not */
    public static String describe() {
        String mode = kernelMode();
        boolean kernel = mode.equals("always") || mode.equals("madvise");
        if (mode.equals("always")) {
            return "yes (kernel mode always; GLIBC_TUNABLES " + glibcTunables() + ")";
        }
        if (kernel && mallocRequested()) {
            return "yes (" + TUNABLE + ", kernel mode " + mode + ")";
        }
        return "no: kernel mode " + mode + ", GLIBC_TUNABLES " + glibcTunables()
                + (kernel ? "; start the JVM with GLIBC_TUNABLES=" + TUNABLE + " (bin/tessera does)" : "")
                + "; large CPU tensors then fault in 4 KiB pages, which can slow a step by tens of percent";
    }
}
