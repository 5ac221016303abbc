package io.tessera.parallel.comm;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Linux cross-memory attach: {@code process_vm_readv(2)} copies bytes out of another process's memory
 * in one step, so that a rank on the same host can pull a peer's chunk straight into its own buffer
 * (one copy, where a shared-memory ring needs two and loopback TCP two in the kernel). It needs the
 * same permission as ptrace (same user; not blocked by a seccomp profile); {@link NettyEndpoint}
 * probes it for each pair of ranks before relying on it.
 *
 * <p>Thread safety: stateless; safe from any thread.
 */
final class Cma {

    private static final Function READV = lookup();

    private Cma() {}

    private static Function lookup() {
        if (!Platform.isLinux()) {
            return null;
        }
        try {
            return NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("process_vm_readv");
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    /** @return whether {@code process_vm_readv} exists here (whether it is permitted is probed per peer) */
    static boolean available() {
        return READV != null;
    }

    /** @return this process's id */
    static long pid() {
        return ProcessHandle.current().pid();
    }

    /** @return the address of the byte at the buffer's position */
    static long address(ByteBuffer direct) {
        return Pointer.nativeValue(Native.getDirectBufferPointer(direct)) + direct.position();
    }

    /**
     * Copies {@code dst.remaining()} bytes from {@code address} in process {@code pid} into {@code dst}
     * (position and limit unchanged).
     *
     * @throws IOException with the errno if the kernel refuses or the process is gone
     */
    static void read(long pid, long address, ByteBuffer dst) throws IOException {
        long local = address(dst);
        long want = dst.remaining();
        long done = 0;
        try (Memory iov = new Memory(32)) {
            while (done < want) {
                iov.setLong(0, local + done);
                iov.setLong(8, want - done);
                iov.setLong(16, address + done);
                iov.setLong(24, want - done);
                long n = READV.invokeLong(new Object[] {(int) pid, iov, 1L, iov.share(16), 1L, 0L});
                if (n <= 0) {
                    throw new IOException("process_vm_readv from process " + pid + " failed (errno " + Native.getLastError()
                            + ") after " + done + " of " + want + " bytes");
                }
                done += n;
            }
        }
    }
}
