package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.pipeline.PipelineAction;
import io.tessera.parallel.pipeline.PipelineSchedule;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The point-to-point traffic of one pipeline rank during a step: hidden states to the next virtual
 * stage after each forward, their gradients to the previous one after each backward, over the
 * pipeline group's communicator (Netty on CPU, NCCL on GPU).
 *
 * <pre>
 *   F(i) on virtual stage vs (not the last)   sends  y_i                 [B_i, T_i, C]   to rank (vs + 1) mod p
 *   B(i) on virtual stage vs (not the first)  sends  ∂loss/∂x_i          [B_i, T_i, C]   to rank (vs − 1) mod p
 * </pre>
 *
 * <p>Messages carry no header. Every rank holds the whole schedule, so it knows the exact order in which
 * each neighbour sends to it (that neighbour's actions, in order); a message that arrives before it is
 * needed (interleaved schedules consume out of that order) is received into a stash, so no ordering
 * between the ranks' schedules is assumed beyond their being executable.
 *
 * <p>Thread safety: not thread-safe; one per rank and step.
 */
final class StageMessages {

    /** What a message is. */
    enum Kind { ACTIVATION, GRADIENT }

    private final Communicator pipeline;
    private final int stage;
    private final int stages;
    private final IntFunction<Shape> shapeOf;
    private final NDManager manager;
    private final Map<Integer, Deque<Long>> arriving = new HashMap<>();
    private final Map<Long, NDArray> stash = new HashMap<>();
    private long waitNanos;

    /**
     * @param schedule the step's schedule (every rank's actions)
     * @param pipeline the pipeline group's communicator; group rank = stage
     * @param shapeOf micro-batch index → shape of its hidden states
     * @param manager owner of stashed arrays until they are taken
     */
    StageMessages(PipelineSchedule schedule, Communicator pipeline, IntFunction<Shape> shapeOf, NDManager manager) {
        this.pipeline = pipeline;
        this.stage = pipeline.rank();
        this.stages = schedule.stages();
        this.shapeOf = shapeOf;
        this.manager = manager;
        int virtualStages = stages * schedule.chunks();
        for (int peer = 0; peer < stages; peer++) {
            if (peer == stage) {
                continue;
            }
            Deque<Long> order = new ArrayDeque<>();
            for (PipelineAction a : schedule.actions(peer)) {
                int vs = a.virtualStage(peer, stages);
                if (a.pass() == PipelineAction.Pass.FORWARD && vs + 1 < virtualStages && (vs + 1) % stages == stage) {
                    order.add(key(Kind.ACTIVATION, a.microBatch(), vs + 1));
                } else if (a.pass() == PipelineAction.Pass.BACKWARD && vs > 0 && (vs - 1) % stages == stage) {
                    order.add(key(Kind.GRADIENT, a.microBatch(), vs - 1));
                }
            }
            if (!order.isEmpty()) {
                arriving.put(peer, order);
            }
        }
    }

    /**
     * Sends a forward's output or a backward's input gradient.
     *
     * @param kind activation (to virtual stage {@code vs + 1}) or gradient (to {@code vs − 1})
     * @param fromVirtualStage the virtual stage that produced it
     * @param value {@code [B, T, C]} fp32
     */
    void send(Kind kind, int fromVirtualStage, NDArray value) {
        int to = kind == Kind.ACTIVATION ? fromVirtualStage + 1 : fromVirtualStage - 1;
        NDArray v = value.getDataType() == DataType.FLOAT32 ? value : value.toType(DataType.FLOAT32, false);
        pipeline.send(v, Math.floorMod(to, stages));
    }

    /**
     * Receives what virtual stage {@code vs} needs: its input (activation) or its output's gradient.
     *
     * @param kind which
     * @param microBatch the micro-batch
     * @param virtualStage the receiving virtual stage
     * @param scope the owner of the returned array
     * @return {@code [B, T, C]} fp32
     */
    NDArray receive(Kind kind, int microBatch, int virtualStage, NDManager scope) {
        int from = Math.floorMod(kind == Kind.ACTIVATION ? virtualStage - 1 : virtualStage + 1, stages);
        long wanted = key(kind, microBatch, virtualStage);
        NDArray got = stash.remove(wanted);
        Deque<Long> order = arriving.get(from);
        while (got == null) {
            Long next = order == null ? null : order.poll();
            if (next == null) {
                throw new IllegalStateException("pipeline stage " + stage + ": stage " + from + " sends no " + kind.name().toLowerCase()
                        + " of micro-batch " + microBatch + " for virtual stage " + virtualStage + " in this schedule");
            }
            NDArray a = manager.zeros(shapeOf.apply((int) ((next >>> 20) & 0xFFFFF)), DataType.FLOAT32);
            long t0 = System.nanoTime();
            pipeline.recv(a, from);
            waitNanos += System.nanoTime() - t0;
            if (next == wanted) {
                got = a;
            } else {
                stash.put(next, a);
            }
        }
        got.attach(scope);
        return got;
    }

    /** @return nanoseconds spent in receives so far (waiting for a neighbour, plus the copy) */
    long waitNanos() {
        return waitNanos;
    }

    /** @return messages received early and not yet taken (0 at the end of a step) */
    int stashed() {
        return stash.size();
    }


    private static long key(Kind kind, int microBatch, int virtualStage) {
        return ((long) kind.ordinal() << 40) | ((long) microBatch << 20) | virtualStage;
    }
}
