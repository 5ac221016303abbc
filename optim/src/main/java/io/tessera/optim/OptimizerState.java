package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The moment buffers of an Adam-family optimizer over one {@link FlatRange}: flat fp32 arrays {@code m}
 * (first moment) and {@code v} (second moment) of the range's length, laid out like it, plus the number
 * of steps taken (the {@code t} of the bias corrections {@code 1 − β^t}). Under ZeRO each rank holds the
 * state of its shard only: {@code 8 · length} bytes.
 *
 * <pre>
 *   range  [ seg 0 ...... | seg 1 .. | seg 2 ...... ]
 *   m      [ ............ | ........ | ............ ]   fp32, zeros at start
 *   v      [ ............ | ........ | ............ ]   fp32, zeros at start
 * </pre>
 *
 * <p>Thread safety: not thread-safe; owned by one optimizer on one rank. Closing it frees both buffers.
 */
public final class OptimizerState implements AutoCloseable {

    private final NDManager manager;
    private final NDArray firstMoment;
    private final NDArray secondMoment;
    private long steps;
    private boolean closed;

    /**
     * Allocates zeroed moments.
     *
     * @param length elements of the range
     * @param parent manager whose device holds the buffers; the state owns a child of it
     */
    public OptimizerState(long length, NDManager parent) {
        if (length < 0) {
            throw new IllegalArgumentException("optimizer state length " + length + " must be >= 0");
        }
        this.manager = parent.newSubManager();
        this.firstMoment = manager.zeros(new Shape(length), DataType.FLOAT32);
        this.secondMoment = manager.zeros(new Shape(length), DataType.FLOAT32);
    }

    /** @return the first moment {@code m}, 1-D fp32 */
    public NDArray firstMoment() {
        checkOpen();
        return firstMoment;
    }

    /** @return the second moment {@code v}, 1-D fp32 */
    public NDArray secondMoment() {
        checkOpen();
        return secondMoment;
    }

    /** @return number of steps taken so far */
    public long steps() {
        return steps;
    }

    /** @return bytes held by the buffers */
    public long bytes() {
        return 2 * 4 * firstMoment.size();
    }

    /**
     * Sets the step count when resuming from a checkpoint (the moments are restored by copying into
     * {@link #firstMoment()} and {@link #secondMoment()}).
     *
     * @param t steps taken by the saved run, at least 0
     */
    public void restoreSteps(long t) {
        checkOpen();
        if (t < 0) {
            throw new IllegalArgumentException("restoreSteps(" + t + "): the step count cannot be negative");
        }
        steps = t;
    }

    /**
     * Counts one more step.
     *
     * @return the new step number {@code t}, starting at 1
     */
    long advance() {
        checkOpen();
        return ++steps;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("optimizer state used after close; the optimizer that owns it was closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        manager.close();
    }
}
