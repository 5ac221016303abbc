package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.ParameterAccess;
import io.tessera.core.tape.Tape;
import io.tessera.optim.FlatRange;
import io.tessera.optim.Optimizer;
import io.tessera.optim.OptimizerState;
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.optim.clip.GradientNorm;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data parallelism over the data-parallel group of a {@link ParallelContext}, with the model states
 * partitioned as ZeRO stage 0–3 prescribe: one subclass per stage. It owns the model's
 * {@link ParameterBuffer} (allocated as the stage needs: with or without a full gradient buffer) and
 * the optimizers.
 *
 * <pre>
 *   per micro-batch:   beginBackward(tape, last) ─▶ tape.backward(loss) ─▶ endBackward()
 *                         │ the tape reports parameters whose gradients are final; when every
 *                         │ parameter of a bucket is final, the bucket's reduction starts
 *                         │ asynchronously while backward goes on (overlap)
 *   per step:          step(lr, maxGradNorm): await reductions, clip by the global norm, skip on a
 *                      non-finite norm, update, re-gather parameters where the stage needs it
 * </pre>
 *
 * <p>Gradients are <em>summed</em> over the data-parallel group: the trainer normalises the loss by the
 * global batch's token count, so that every layout computes exactly the degree-1 gradient.
 *
 * <p>Thread safety: not thread-safe; one instance per rank, driven by its training thread. Collectives
 * run on the communicator's threads.
 */
public abstract class DataParallelOptimizer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DataParallelOptimizer.class);

    /** Everything a stage needs to build itself. */
    public record Spec(Module model, long seed, ParallelContext context, OptimizerFactory optimizer, long bucketBytes,
                       NDManager manager) {
        public Spec {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(context, "context");
            Objects.requireNonNull(optimizer, "optimizer");
            Objects.requireNonNull(manager, "manager");
            if (bucketBytes < 4) {
                throw new IllegalArgumentException("bucketBytes = " + bucketBytes + ": must be at least 4 (one fp32 element)");
            }
        }
    }

    protected final ParameterBuffer buffer;
    protected final ParallelContext context;
    protected final Communicator dp;
    protected final NDManager manager;
    protected final List<Bucket> buckets;
    private final int stage;
    private final Map<Parameter, Bucket> bucketOf = new IdentityHashMap<>();
    private final int[] pending;
    private final boolean[] launched;
    private boolean communicate;
    private long backwardStart;
    private final List<String> trace = new ArrayList<>();
    private final Map<NDArray, NDArray[]> bucketViews = new IdentityHashMap<>();

    protected DataParallelOptimizer(int stage, Spec spec, boolean fullGradients, long bucketElements) {
        this.stage = stage;
        this.context = spec.context();
        this.dp = spec.context().data();
        this.manager = spec.manager().newSubManager();
        try (Torch.GradMode g = Torch.gradMode(false)) {
            this.buffer = ParameterBuffer.allocate(spec.model(), spec.seed(), manager, fullGradients);
        }
        this.buckets = Bucket.of(buffer, bucketElements);
        for (Bucket b : buckets) {
            for (Parameter p : b.parameters()) {
                bucketOf.put(p, b);
            }
        }
        this.pending = new int[buckets.size()];
        this.launched = new boolean[buckets.size()];
    }

    /**
     * Creates the data-parallel optimizer of a ZeRO stage.
     *
     * @param stage 0 (plain data parallelism) to 3
     * @param spec the model, seed, groups, optimizer and bucket size
     * @return the optimizer; it owns the model's parameter buffer
     */
    public static DataParallelOptimizer create(int stage, Spec spec) {
        return switch (stage) {
            case 0 -> new DataParallel(spec);
            case 1 -> new ZeroStage1(spec);
            case 2 -> new ZeroStage2(spec);
            case 3 -> new ZeroStage3(spec);
            default -> throw new IllegalArgumentException("--zero " + stage + ": ZeRO stages are 0 (off), 1 (optimizer states),"
                    + " 2 (+ gradients) and 3 (+ parameters)");
        };
    }

    /** @return the ZeRO stage */
    public final int stage() {
        return stage;
    }

    /** @return the model's parameters (a full parameter buffer only below stage 3) */
    public final ParameterBuffer buffer() {
        return buffer;
    }

    /** @return the communication buckets in launch order */
    public final List<Bucket> buckets() {
        return Collections.unmodifiableList(buckets);
    }

    /**
     * Prepares a micro-batch's backward: routes parameter access through this stage and starts bucket
     * reductions as gradients become final.
     *
     * @param tape the micro-batch's tape, before its forward is recorded
     * @param lastMicroBatch whether this micro-batch ends the step (stages 0 and 1 communicate only then)
     */
    public final void beginBackward(Tape tape, boolean lastMicroBatch) {
        communicate = lastMicroBatch || reducesEveryMicroBatch();
        for (Bucket b : buckets) {
            pending[b.index()] = b.parameters().size();
            launched[b.index()] = false;
        }
        trace.clear();
        backwardStart = System.nanoTime();
        tape.parameterAccess(access());
        tape.checkpointAll(gathersParameters());
        tape.addListener((name, index, params) -> {
            if (!communicate) {
                return;
            }
            for (Parameter p : params) {
                Bucket b = bucketOf.get(p);
                if (b != null && --pending[b.index()] == 0) {
                    start(b, "after node " + name);
                }
            }
        });
    }

    /** Starts the buckets that backward never completed (unused parameters) and finishes this micro-batch's communication. */
    public final void endBackward() {
        if (communicate) {
            for (Bucket b : buckets) {
                if (!launched[b.index()]) {
                    start(b, "at the end of backward");
                }
            }
            trace.add(String.format("%.3f ms backward ended", (System.nanoTime() - backwardStart) / 1e6));
            if (LOG.isDebugEnabled()) {
                trace.forEach(LOG::debug);
            }
        }
        afterBackward();
    }

    private void start(Bucket b, String when) {
        launched[b.index()] = true;
        trace.add(String.format("%.3f ms bucket %d (%d elements) reduction started %s",
                (System.nanoTime() - backwardStart) / 1e6, b.index(), b.length(), when));
        launch(b);
    }

    /**
     * The last micro-batch's communication trace: when each bucket's reduction started, relative to the
     * start of backward, and when backward ended. Buckets started before the end overlapped backward.
     *
     * @return trace lines in time order
     */
    public final List<String> trace() {
        return List.copyOf(trace);
    }

    /**
     * Awaits the gradient reductions, clips by the global norm, updates the parameters and clears the
     * gradients.
     *
     * @param lr the learning rate
     * @param maxGradNorm clip threshold; 0 or less disables clipping (the norm is still computed)
     * @return what the step did
     */
    public abstract StepResult step(double lr, double maxGradNorm);

    /** @return bytes of parameters, gradients and optimizer states held on this rank, measured */
    public abstract ModelStateMemory memory();

    /** Work that needs every parameter's full value, e.g. writing a checkpoint. */
    @FunctionalInterface
    public interface WithParameters {
        /**
         * @throws IOException on failure
         */
        void run() throws IOException;
    }

    /**
     * Runs {@code work} while every {@link Parameter#data()} holds its full value. Stage 3 gathers the
     * shards first and frees them again after (collective: every data-parallel rank calls it).
     *
     * @param work the work
     * @throws IOException if the work fails
     */
    public void withFullParameters(WithParameters work) throws IOException {
        work.run();
    }

    /**
     * The tensors that restore this rank's training state exactly: parameters (the full local buffer, or
     * this rank's shard under stage 3) and every optimizer's moments and step count.
     *
     * @return name to tensor; views of live state, valid until the next step
     */
    public final Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        out.put("params", parameterState());
        List<Optimizer> opts = optimizers();
        for (int i = 0; i < opts.size(); i++) {
            OptimizerState st = opts.get(i).state();
            out.put("opt." + i + ".m", st.firstMoment());
            out.put("opt." + i + ".v", st.secondMoment());
            out.put("opt." + i + ".t", manager.create(new long[] {st.steps()}));
        }
        return out;
    }

    /**
     * Restores what {@link #stateDict()} saved, on the same layout.
     *
     * @param state the saved tensors
     * @throws IllegalArgumentException naming the first tensor that is missing or has another shape
     */
    public final void loadStateDict(Map<String, NDArray> state) {
        Map<String, NDArray> mine = stateDict();
        if (!state.keySet().equals(mine.keySet())) {
            throw new IllegalArgumentException("checkpoint holds " + state.size() + " tensors " + state.keySet()
                    + " but this rank's ZeRO-" + stage + " state has " + mine.keySet()
                    + "; resume with the same --tp, --dp, --zero and --optimizer as the saved run");
        }
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (Map.Entry<String, NDArray> e : mine.entrySet()) {
                NDArray saved = state.get(e.getKey());
                if (!saved.getShape().equals(e.getValue().getShape())) {
                    throw new IllegalArgumentException("checkpoint tensor " + e.getKey() + " has shape " + saved.getShape()
                            + ", this run expects " + e.getValue().getShape() + "; resume with the same layout and model");
                }
            }
            List<Optimizer> opts = optimizers();
            for (Map.Entry<String, NDArray> e : mine.entrySet()) {
                if (e.getKey().endsWith(".t")) {
                    int i = Integer.parseInt(e.getKey().split("\\.")[1]);
                    opts.get(i).state().restoreSteps(state.get(e.getKey()).getLong());
                } else {
                    io.tessera.core.Tensors.copyInto(e.getValue(), state.get(e.getKey()));
                }
            }
        }
    }

    /** @return the array holding this rank's parameters (full local buffer, or the stage-3 shard) */
    protected abstract NDArray parameterState();

    /** @return this rank's optimizers, in a fixed order */
    protected abstract List<Optimizer> optimizers();

    /** @return how the tape reaches parameters and where gradients go */
    protected ParameterAccess access() {
        return ParameterAccess.DIRECT;
    }

    /** @return whether gradients are reduced after every micro-batch (stages 2 and 3 keep no full gradient) */
    protected boolean reducesEveryMicroBatch() {
        return false;
    }

    /** @return whether parameters are gathered per node (stage 3: every node is checkpointed) */
    protected boolean gathersParameters() {
        return false;
    }

    /**
     * Starts the reduction of one bucket.
     *
     * @param b the bucket whose gradients are final
     */
    protected abstract void launch(Bucket b);

    /** Called at the end of every micro-batch's backward. */
    protected void afterBackward() {}

    /**
     * Computes the global gradient norm over ranges and clips in place.
     *
     * @param ranges the gradient ranges this rank holds
     * @param grads the gradients, one array per range
     * @param sharding whether ranges are replicated or partitioned over the data-parallel group
     * @param maxNorm clip threshold (≤ 0: none)
     * @return norm and coefficient
     */
    protected final StepResult clip(List<FlatRange> ranges, List<NDArray> grads, Sharding sharding, double maxNorm) {
        TensorNorms norms = TensorNorms.of(context, sharding);
        double squares = 0;
        for (int i = 0; i < ranges.size(); i++) {
            double n = new GradientNorm(ranges.get(i), norms).compute(grads.get(i)).norm();
            squares += n * n;
        }
        double norm = Math.sqrt(squares);
        if (!Double.isFinite(norm)) {
            LOG.warn("rank {}: gradient norm is {}; skipping the optimizer step", context.rank(), norm);
            return new StepResult(norm, 1, true);
        }
        double coefficient = maxNorm > 0 ? Math.min(1, maxNorm / (norm + GradientNorm.EPSILON)) : 1;
        if (coefficient < 1) {
            try (Torch.GradMode g = Torch.gradMode(false)) {
                for (NDArray a : grads) {
                    a.muli(coefficient);
                }
            }
        }
        return new StepResult(norm, coefficient, false);
    }

    /**
     * The elements of a bucket in a whole-buffer array (a view cached for the life of this object).
     *
     * @param flat a whole-buffer array (parameters or gradients)
     * @param b the bucket
     * @return the view; do not close
     */
    protected final NDArray bucketView(NDArray flat, Bucket b) {
        NDArray[] cached = bucketViews.computeIfAbsent(flat, k -> new NDArray[buckets.size()]);
        if (cached[b.index()] == null) {
            cached[b.index()] = slice(flat, b.from(), b.length());
        }
        return cached[b.index()];
    }

    /**
     * Closes the cached bucket views of an array about to be freed.
     *
     * @param flat the array
     */
    protected final void forgetBucketViews(NDArray flat) {
        NDArray[] cached = bucketViews.remove(flat);
        if (cached != null) {
            for (NDArray v : cached) {
                if (v != null) {
                    v.close();
                }
            }
        }
    }

    /**
     * A view of elements {@code [from, from + length)} of a flat array.
     *
     * @param flat the array
     * @param from first element
     * @param length number of elements
     * @return the view
     */
    protected static NDArray slice(NDArray flat, long from, long length) {
        return flat.get(new ai.djl.ndarray.index.NDIndex().addSliceDim(from, from + length));
    }

    @Override
    public void close() {
        buffer.close();
        manager.close();
    }
}
