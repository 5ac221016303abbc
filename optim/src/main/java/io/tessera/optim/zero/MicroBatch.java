package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import java.util.Objects;

/**
 * One micro-batch's forward and backward under a {@link DataParallelOptimizer}: the only way to run
 * them, so that the order the stages need cannot be got wrong.
 *
 * <pre>{@code
 * for (int m = 0; m < micro; m++) {
 *     try (Tape tape = new Tape(scope, seed, true);
 *          MicroBatch mb = optimizer.microBatch(tape, m == micro - 1)) {   // before the forward is recorded
 *         Var loss = model.loss(tape, batch);                              // parameters reached through the stage
 *         mb.backward(loss);                                               // seeded with the fp16 loss scale
 *     }                                                                    // buckets not yet started are started
 * }
 * optimizer.step(lr, maxGradNorm);
 * }</pre>
 *
 * <p>Opening routes the tape's parameter access through the stage (ZeRO-3 gathers, fp16 casts) and
 * registers the listener that starts each gradient bucket's reduction as soon as backward has
 * finished it. {@link #backward} seeds backward with the loss scale ({@code S = 1} in fp32), so the
 * gradients are those of {@code S·loss}; closing starts the buckets that backward never completed
 * (parameters the loss does not use) and ends the micro-batch's communication.
 *
 * <p>Thread safety: not thread-safe; one micro-batch at a time per optimizer, on the rank's thread.
 */
public final class MicroBatch implements AutoCloseable {

    private final DataParallelOptimizer optimizer;
    private final Tape tape;
    private final boolean lastMicroBatch;
    private boolean backwardDone;
    private boolean closed;

    MicroBatch(DataParallelOptimizer optimizer, Tape tape, boolean lastMicroBatch) {
        this.optimizer = optimizer;
        this.tape = tape;
        this.lastMicroBatch = lastMicroBatch;
    }

    /**
     * Runs backward from the micro-batch's loss, seeded with the optimizer's loss scale.
     *
     * @param loss the scalar loss recorded on this micro-batch's tape, already divided by what makes
     *     the sum over all micro-batches and ranks the step's loss (e.g. the global label count)
     * @throws IllegalStateException if backward already ran for this micro-batch
     */
    public void backward(Var loss) {
        Objects.requireNonNull(loss, "loss");
        if (backwardDone || closed) {
            throw new IllegalStateException("MicroBatch.backward called twice (or after close); one backward per micro-batch:"
                    + " sum the loss terms into one scalar first");
        }
        backwardDone = true;
        optimizer.beginBackward(lastMicroBatch);
        // fp16: the cotangent is the loss scale S (fp32, like the loss), so the gradients are those of S·loss.
        tape.backward(loss, tape.manager().full(loss.value().getShape(), (float) optimizer.lossScale(), loss.value().getDataType()));
    }

    /**
     * Runs backward from a pipeline stage's output with the gradient the next stage sent back (which
     * already carries the loss scale the last stage seeded).
     *
     * @param out the stage's output recorded on this micro-batch's tape
     * @param cotangent the gradient of the step loss with respect to {@code out}, same shape
     * @throws IllegalStateException if backward already ran for this micro-batch
     */
    public void backward(Var out, NDArray cotangent) {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(cotangent, "cotangent");
        if (backwardDone || closed) {
            throw new IllegalStateException("MicroBatch.backward called twice (or after close); one backward per micro-batch");
        }
        backwardDone = true;
        optimizer.beginBackward(lastMicroBatch);
        tape.backward(out, cotangent);
    }

    /**
     * Ends the micro-batch's communication.
     *
     * @throws IllegalStateException if {@link #backward} was never called (no exception is pending): the
     *     step would then miss this micro-batch's gradients
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!backwardDone) {
            optimizer.abandonMicroBatch();
            throw new IllegalStateException("MicroBatch closed without backward: call backward(loss) inside the try block");
        }
        optimizer.endMicroBatch();
    }
}
