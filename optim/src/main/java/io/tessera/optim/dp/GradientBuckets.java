package io.tessera.optim.dp;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.GradientListener;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Work;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-parallel gradient averaging in flat buckets whose all-reduce starts during backward, as PyTorch's
 * {@code DistributedDataParallel} does.
 *
 * <pre>
 *   grads    [ w0 | b0 | w1 | b1 | w2 | b2 | w3 | b3 ]     registration (buffer) order
 *   buckets  [ bucket 3 | bucket 2 | bucket 1 | bucket 0 ] contiguous ranges built from the end, about
 *                                                          capBytes each: backward finishes the last
 *                                                          layers first, so bucket 0 is ready first
 *   backward:  node done → its parameters' gradients final (GradientListener) → a bucket whose
 *              parameters are all final is ready → ready buckets start allReduceAsync(AVG) in index
 *              order, on the bucket's view of the flat gradients (no copy) while backward goes on
 *   finishBackward():  buckets never completed (parameters unused this step) start now; await all
 *
 *   g ← (1/N) · Σ_r g_r      over the N ranks of the data-parallel group, every element once
 * </pre>
 *
 * <p>Buckets start strictly in index order (a ready bucket waits for its predecessors), so every rank
 * issues the same collectives in the same order even if parameters become final in a different order.
 *
 * <p>Gradient accumulation: call {@code startBackward(false)} for every micro-batch but the last; its
 * gradients add up in the flat buffer and nothing is communicated (DDP's {@code no_sync}); the last
 * micro-batch's {@code startBackward(true)} averages the accumulated sums. Divide each micro-batch's loss
 * by the number of micro-batches to average rather than sum over them.
 *
 * <pre>{@code
 * try (GradientBuckets buckets = new GradientBuckets(buffer, context.data())) {
 *     for (int micro = 0; micro < accumulation; micro++) {
 *         buckets.startBackward(micro == accumulation - 1);
 *         try (Tape tape = new Tape(manager, seed, true).addListener(buckets)) {
 *             tape.backward(model.forward(tape, batch[micro]));
 *         }
 *         buckets.finishBackward();              // returns once the gradients are averaged
 *     }
 *     clip; optimizer.step(...); buffer.zeroGrad();
 * }
 * }</pre>
 *
 * <p>Tracing: at debug level each launch is logged with the node after which it started and its time
 * since {@link #startBackward}, and each backward ends with how many buckets had finished before
 * {@link #finishBackward()} began waiting; {@link #finishBackward()} returns the same as a {@link Trace}.
 *
 * <p>Thread safety: not thread-safe; used by the rank's training thread (the tape calls the listener on
 * it), which issues all collectives on the data-parallel communicator in program order.
 */
public final class GradientBuckets implements GradientListener, AutoCloseable {

    /** PyTorch DDP's default bucket capacity, 25 MiB. */
    public static final long DEFAULT_CAP_BYTES = 25L * 1024 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(GradientBuckets.class);

    private final Communicator dataGroup;
    private final NDManager views;
    private final List<Bucket> buckets;
    private final List<Slot> slots;
    private final Map<Parameter, Slot> slotOf = new IdentityHashMap<>();
    private final Set<Parameter> reported = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<Launch> launches = new ArrayList<>();
    private boolean started;
    private boolean communicate;
    private int nextLaunch;
    private long startNanos;

    /**
     * Buckets of {@link #DEFAULT_CAP_BYTES}.
     *
     * @param buffer the parameters whose gradients are averaged
     * @param dataGroup the data-parallel communicator
     */
    public GradientBuckets(ParameterBuffer buffer, Communicator dataGroup) {
        this(buffer, dataGroup, DEFAULT_CAP_BYTES);
    }

    /**
     * @param buffer the parameters whose gradients are averaged
     * @param dataGroup the data-parallel communicator
     * @param capBytes the most fp32 gradient bytes a bucket holds, unless one parameter alone is larger
     */
    public GradientBuckets(ParameterBuffer buffer, Communicator dataGroup, long capBytes) {
        this.dataGroup = Objects.requireNonNull(dataGroup, "dataGroup");
        if (capBytes < 4) {
            throw new IllegalArgumentException("gradient buckets: capBytes = " + capBytes
                    + " must hold at least one fp32 element (4 bytes); DDP uses 25 MiB = " + DEFAULT_CAP_BYTES);
        }
        this.buckets = plan(buffer, capBytes / 4);
        this.views = buffer.grads().getManager().newSubManager();
        List<Slot> s = new ArrayList<>();
        for (Bucket b : buckets) {
            NDArray view = buffer.grads().get(new NDIndex().addSliceDim(b.from(), b.to()));
            view.attach(views);
            Slot slot = new Slot(b, view);
            s.add(slot);
            for (Parameter p : b.parameters()) {
                slotOf.put(p, slot);
            }
        }
        this.slots = List.copyOf(s);
    }

    /** Cuts the buffer from its end into contiguous runs of whole parameters of at most {@code cap} elements. */
    private static List<Bucket> plan(ParameterBuffer buffer, long cap) {
        List<Parameter> params = buffer.list();
        List<Bucket> out = new ArrayList<>();
        List<Parameter> current = new ArrayList<>();
        long elements = 0;
        for (int i = params.size() - 1; i >= 0; i--) {
            Parameter p = params.get(i);
            if (!current.isEmpty() && elements + p.numel() > cap) {
                out.add(bucket(out.size(), buffer, current));
                current = new ArrayList<>();
                elements = 0;
            }
            current.add(p);
            elements += p.numel();
        }
        if (!current.isEmpty()) {
            out.add(bucket(out.size(), buffer, current));
        }
        return List.copyOf(out);
    }

    private static Bucket bucket(int index, ParameterBuffer buffer, List<Parameter> reversed) {
        Parameter first = reversed.get(reversed.size() - 1);
        Parameter last = reversed.get(0);
        return new Bucket(index, buffer.offset(first), buffer.offset(last) + last.numel(), List.copyOf(reversed));
    }

    /** @return the buckets, in launch order (bucket 0 holds the last parameters of the buffer) */
    public List<Bucket> buckets() {
        return buckets;
    }

    /**
     * Prepares for one backward pass.
     *
     * @param communicate true to average the gradients at the end of this backward (the last
     *     micro-batch), false to only let them accumulate locally
     */
    public void startBackward(boolean communicate) {
        if (started) {
            throw new IllegalStateException("gradient buckets on " + dataGroup.name() + ": startBackward called twice;"
                    + " call finishBackward() after each backward");
        }
        started = true;
        this.communicate = communicate && dataGroup.size() > 1;
        nextLaunch = 0;
        reported.clear();
        launches.clear();
        for (Slot s : slots) {
            s.reset();
        }
        startNanos = System.nanoTime();
    }

    @Override
    public void gradientsFinal(String nodeName, int nodeIndex, List<Parameter> finalParameters) {
        if (!started) {
            throw new IllegalStateException("gradient buckets on " + dataGroup.name() + ": node '" + nodeName
                    + "' finished backward before startBackward(); call it before each tape.backward");
        }
        if (!communicate) {
            return;
        }
        for (Parameter p : finalParameters) {
            Slot slot = slotOf.get(p);
            if (slot == null) {
                throw new IllegalArgumentException("gradient buckets on " + dataGroup.name() + ": parameter " + p
                        + " of node '" + nodeName + "' is not in the ParameterBuffer the buckets were built over");
            }
            if (!reported.add(p)) {
                throw new IllegalStateException("gradient buckets on " + dataGroup.name() + ": parameter " + p
                        + " reported final twice in one backward (node '" + nodeName + "')");
            }
            slot.pending--;
        }
        launchReady(nodeName);
    }

    /**
     * Starts the buckets that have not started (their parameters were unused this step) and waits for
     * every bucket; afterwards the flat gradients hold the data-parallel average.
     *
     * @return what happened during this backward
     */
    public Trace finishBackward() {
        if (!started) {
            throw new IllegalStateException("gradient buckets on " + dataGroup.name() + ": finishBackward() without"
                    + " startBackward()");
        }
        started = false;
        if (!communicate) {
            return new Trace(List.of(), 0, 0);
        }
        for (Slot s : slots) {
            s.pending = 0;
        }
        launchReady("<finishBackward>");
        int doneEarly = 0;
        for (Slot s : slots) {
            if (s.work.isDone()) {
                doneEarly++;
            }
        }
        long waitStart = System.nanoTime();
        for (Slot s : slots) {
            s.work.await();
        }
        long waited = System.nanoTime() - waitStart;
        Trace trace = new Trace(List.copyOf(launches), doneEarly, waited);
        if (LOG.isDebugEnabled()) {
            LOG.debug("dp buckets on {}: {} of {} reduced before finishBackward, waited {} ms, backward + reduce {} ms",
                    dataGroup.name(), doneEarly, slots.size(), ms(waited), ms(System.nanoTime() - startNanos));
        }
        return trace;
    }

    private void launchReady(String nodeName) {
        while (nextLaunch < slots.size() && slots.get(nextLaunch).pending == 0) {
            Slot s = slots.get(nextLaunch++);
            s.work = dataGroup.allReduceAsync(s.view, ReduceOp.AVG);
            Launch launch = new Launch(s.bucket.index(), nodeName, System.nanoTime() - startNanos);
            launches.add(launch);
            if (LOG.isDebugEnabled()) {
                LOG.debug("dp bucket {} [{}, {}) {} bytes on {}: all-reduce started after node '{}' at +{} ms",
                        s.bucket.index(), s.bucket.from(), s.bucket.to(), s.bucket.bytes(), dataGroup.name(), nodeName,
                        ms(launch.nanosSinceStart()));
            }
        }
    }

    private static String ms(long nanos) {
        return String.format("%.3f", nanos / 1e6);
    }

    /** Frees the bucket views (not the gradients: the buffer owns them). */
    @Override
    public void close() {
        views.close();
    }

    /**
     * One bucket: elements {@code [from, to)} of the flat gradients, holding whole parameters.
     *
     * <p>Thread safety: immutable.
     *
     * @param index launch order
     * @param from first element in the flat gradient buffer
     * @param to one past the last element
     * @param parameters its parameters, last in the buffer first
     */
    public record Bucket(int index, long from, long to, List<Parameter> parameters) {

        /** @return bytes of fp32 gradient it holds */
        public long bytes() {
            return 4 * (to - from);
        }
    }

    /**
     * When a bucket's all-reduce started.
     *
     * <p>Thread safety: immutable.
     *
     * @param bucket the bucket index
     * @param afterNode the node whose backward completed the bucket ({@code <finishBackward>} for buckets
     *     started at the end)
     * @param nanosSinceStart time since {@link #startBackward}
     */
    public record Launch(int bucket, String afterNode, long nanosSinceStart) {}

    /**
     * What one backward pass did.
     *
     * <p>Thread safety: immutable.
     *
     * @param launches the all-reduces started, in order (empty when not communicating)
     * @param reducedBeforeFinish how many buckets had completed before {@link #finishBackward()} waited:
     *     the overlap of communication with backward
     * @param waitNanos time {@link #finishBackward()} spent waiting
     */
    public record Trace(List<Launch> launches, int reducedBeforeFinish, long waitNanos) {}

    /** The per-backward state of one bucket: parameters still pending, and its all-reduce once started. */
    private static final class Slot {
        final Bucket bucket;
        final NDArray view;
        int pending;
        Work work = Work.DONE;

        Slot(Bucket bucket, NDArray view) {
            this.bucket = bucket;
            this.view = view;
        }

        void reset() {
            pending = bucket.parameters().size();
            work = Work.DONE;
        }
    }
}
