package io.tessera.parallel.comm;

import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file in {@code /dev/shm} mapped into memory and cut into equal slots: one direction of a
 * same-host link. The receiving rank creates it, the sending rank maps it, and the file is unlinked as
 * soon as both have it mapped, so nothing is left behind once the processes exit.
 *
 * <p>Thread safety: slot views may be used from any thread; {@link #unmap()} only after every user of
 * the mapping has stopped (the owner guarantees this).
 */
final class ShmRing {

    private static final Path DIR = Path.of("/dev/shm");

    private final Path path;
    private final int slots;
    private final int slotBytes;
    private final MappedByteBuffer map;

    private ShmRing(Path path, int slots, int slotBytes, boolean create) throws IOException {
        this.path = path;
        this.slots = slots;
        this.slotBytes = slotBytes;
        long size = (long) slots * slotBytes;
        try (FileChannel fc = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (create) {
                fc.truncate(size);
                fc.write(ByteBuffer.allocate(1), size - 1);
            } else if (fc.size() != size) {
                throw new IOException("shared-memory file " + path + " has " + fc.size() + " bytes, expected " + size);
            }
            this.map = fc.map(FileChannel.MapMode.READ_WRITE, 0, size);
        }
        map.order(ByteOrder.nativeOrder());
    }

    /** @return whether shared memory can be used on this host */
    static boolean available() {
        return Files.isDirectory(DIR) && Files.isWritable(DIR);
    }

    /** Creates and maps a new ring under a fresh name, readable and writable by this user only. */
    static ShmRing create(String prefix, int slots, int slotBytes) throws IOException {
        Path p = Files.createTempFile(DIR, prefix, ".ring");
        try {
            return new ShmRing(p, slots, slotBytes, true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(p);
            throw e;
        }
    }

    /** Maps a ring that a peer created. */
    static ShmRing open(String path, int slots, int slotBytes) throws IOException {
        Path p = Path.of(path);
        if (!p.getParent().equals(DIR)) {
            throw new IOException("refusing to map " + path + ": shared-memory rings live in " + DIR);
        }
        return new ShmRing(p, slots, slotBytes, false);
    }

    String path() {
        return path.toString();
    }

    int slots() {
        return slots;
    }

    int slotBytes() {
        return slotBytes;
    }

    /** @return a view of the first {@code length} bytes of slot {@code i} */
    ByteBuffer slot(int i, int length) {
        return map.slice(i * slotBytes, length).order(ByteOrder.nativeOrder());
    }

    /** Removes the file; the mappings stay valid. */
    void unlink() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new IllegalStateException("cannot remove shared-memory file " + path + ": " + e, e);
        }
    }

    /** Releases the mapping now rather than at garbage collection. */
    void unmap() {
        PlatformDependent.freeDirectBuffer(map);
    }
}
