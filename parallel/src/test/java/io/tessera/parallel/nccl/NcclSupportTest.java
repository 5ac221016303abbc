package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.nccl.NcclSupport.Probe;
import io.tessera.parallel.nccl.NcclSupport.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NcclSupportTest {

    @Test
    void reportsAvailabilityWithoutThrowingAndExplainsWhyNot() {
        Probe p = NcclSupport.probe();
        System.out.println("[NcclSupportTest] " + p.describe());
        assertSame(p, NcclSupport.probe(), "the probe runs once");
        assertEquals(p.available(), NcclSupport.available());
        if (p.available()) {
            assertEquals("", NcclSupport.unavailableReason());
            assertTrue(p.devices() >= 1 && p.ncclVersion() > 0, p.describe());
        } else {
            assertNotEquals(Status.AVAILABLE, p.status());
            String reason = NcclSupport.unavailableReason();
            assertFalse(reason.isBlank());
            assertTrue(reason.contains("Netty backend") && reason.contains("NVIDIA GPU"), "the reason names the fix: " + reason);
        }
    }

    @Test
    void findsTheDriverByFileNameInFoldersOrTheLdCache(@TempDir Path tmp) throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path drivers = Files.createDirectories(tmp.resolve("drivers"));
        Path cache = tmp.resolve("ld.so.cache");
        Files.write(cache, "glibc-ld.so.cache1.1 libc.so.6 /lib/x86_64-linux-gnu/libc.so.6".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(Optional.empty(), NcclSupport.findDriver(List.of(empty, tmp.resolve("missing")), cache));

        Files.createFile(drivers.resolve("libcuda.so.1"));
        assertEquals(Optional.of(drivers.resolve("libcuda.so.1").toString()),
                NcclSupport.findDriver(List.of(empty, drivers), cache));

        Path withDriver = tmp.resolve("ld.so.cache2");
        Files.write(withDriver, "\0libcuda.so.1\0/usr/lib/x86_64-linux-gnu/libcuda.so.1\0".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(NcclSupport.findDriver(List.of(empty), withDriver).orElseThrow().contains("ld.so cache"));

        Files.createSymbolicLink(empty.resolve("libcuda.so.1"), tmp.resolve("nowhere"));
        assertEquals(Optional.empty(), NcclSupport.findDriver(List.of(empty), cache), "a dangling link is no driver");
    }

    @Test
    void formatsVersionsAndPathLists() {
        assertEquals("2.27.3", NcclSupport.ncclVersionText(22703));
        assertEquals("2.7.8", NcclSupport.ncclVersionText(2708));
        assertEquals("12.9", NcclSupport.cudaVersionText(12090));
        assertEquals("12.8", NcclSupport.cudaVersionText(12080));
        assertEquals(List.of("/a", "/b"), NcclSupport.split(" /a::/b "));
        assertEquals(List.of(), NcclSupport.split(null));
    }

    /**
     * Guarded loading: the classes a CPU machine touches (the probe's first stages, the type tables, the
     * communicator's checks) must not name a JavaCPP class, or merely loading them could pull in natives.
     */
    @Test
    void onlyNcclNativeNamesJavaCppClasses() throws IOException {
        for (Class<?> c : List.of(NcclSupport.class, NcclTypes.class, NcclCommunicator.class, NcclUniqueIds.class,
                NcclPoller.class, NcclGroups.class)) {
            assertFalse(constantPool(c).contains("org/bytedeco"), c.getSimpleName() + " references a JavaCPP class");
        }
        assertTrue(constantPool(NcclNative.class).contains("org/bytedeco/cuda/global/nccl"));
    }

    private static String constantPool(Class<?> c) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
