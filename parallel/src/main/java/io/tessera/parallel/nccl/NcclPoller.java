package io.tessera.parallel.nccl;

import io.tessera.parallel.comm.CommunicationException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The wait loop behind every NCCL call: NCCL gives no blocking wait with a timeout, so completion
 * (a CUDA event, or a non-blocking communicator leaving {@code ncclInProgress}) is polled together with
 * {@code ncclCommGetAsyncError} until it is done, an error shows, or the deadline passes.
 *
 * <p>Polling spins briefly (small collectives finish in microseconds), then parks for a time that
 * doubles up to 1 ms, so that a long collective costs little CPU and a finished one is seen within a
 * millisecond.
 *
 * <p>Thread safety: stateless.
 */
final class NcclPoller {

    /** {@code ncclSuccess}. */
    static final int SUCCESS = 0;
    /** {@code ncclInProgress}: a non-blocking communicator is still working on the call. */
    static final int IN_PROGRESS = 7;

    private static final int SPINS = 2_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

    private NcclPoller() {}

    /**
     * Waits until {@code done} says so.
     *
     * @param done whether the operation has completed (checked first, then the error)
     * @param asyncError the communicator's state: {@link #SUCCESS}, {@link #IN_PROGRESS} or an error code
     * @param deadlineNanos {@link System#nanoTime()} after which to give up
     * @param onError builds the exception for an error code (after the caller's abort)
     * @param onTimeout builds the exception for a timeout (after the caller's abort)
     * @param onInterrupt builds the exception for an interrupted wait
     * @throws CommunicationException from one of the builders
     */
    static void await(BooleanSupplier done, IntSupplier asyncError, long deadlineNanos, IntFunction<RuntimeException> onError,
            Supplier<RuntimeException> onTimeout, Supplier<RuntimeException> onInterrupt) {
        long park = 1_000;
        for (int i = 0;; i++) {
            if (done.getAsBoolean()) {
                return;
            }
            int err = asyncError.getAsInt();
            if (err != SUCCESS && err != IN_PROGRESS) {
                throw onError.apply(err);
            }
            if (System.nanoTime() - deadlineNanos > 0) {
                throw onTimeout.get();
            }
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt(); // keep the status for the caller
                throw onInterrupt.get();
            }
            if (i < SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(park);
                park = Math.min(MAX_PARK_NANOS, park * 2);
            }
        }
    }
}
