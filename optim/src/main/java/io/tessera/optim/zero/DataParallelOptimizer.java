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
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.optim.amp.DynamicLossScaler;
import io.tessera.optim.amp.HalfPrecisionAccess;
import io.tessera.optim.amp.Precision;
import io.tessera.optim.clip.GradientNorm;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.pipeline.StageCopies;
import java.io.IOException;
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
 * Data parallelism over the data-parallel group of a {@link ParallelContext}, with the model states
 * partitioned as ZeRO stage 0–3 prescribe: one subclass per stage. It owns the model's
 * {@link ParameterBuffer} (allocated as the stage needs: with or without a full gradient buffer) and
 * the optimizers.
 *
 * <pre>
 *   per micro-batch:   try (MicroBatch mb = microBatch(tape, last)) { forward; mb.backward(loss); }
 *                         │ the tape reports parameters whose gradients are final; when every
 *                         │ parameter of a bucket is final, the bucket's reduction starts
 *                         │ asynchronously while backward goes on (overlap)
 *   per step:          step(lr, maxGradNorm): await reductions, clip by the global norm, skip on a
 *                      non-finite norm, update, re-gather parameters where the stage needs it
 * </pre>
 *
 * <p>Mixed precision ({@link Precision#FP16}): the parameters, gradients and optimizer states stay fp32
 * (the master copy); the tape's nodes get fp16 copies of the parameters and their fp16 gradients are
 * widened into the fp32 gradients ({@link HalfPrecisionAccess}). The caller seeds backward with
 * {@link #lossScale()} instead of 1, so the gradients hold {@code S·g}. {@link #step} then decides
 * overflow from the global norm of {@code S·g} (reduced over every group, so all ranks agree): if it is
 * not finite the step is skipped, the gradients are zeroed and {@code S} is halved; otherwise one pass
 * multiplies the gradients by {@code clip / S} (unscale and clip together, as DeepSpeed does) before
 * the update, and {@link DynamicLossScaler} grows {@code S} after a window of clean steps.
 *
 * <p>Gradients are <em>summed</em> over the data-parallel group: the trainer normalises the loss by the
 * global batch's token count, so that every layout computes exactly the degree-1 gradient.
 *
 * <p>One file on purpose: the step protocol (micro-batches, bucket launch, step, loss scaling) is the
 * template every ZeRO stage fills in, and its state-dict and full-state views share its bookkeeping;
 * each stage's own work lives in its subclass.
 *
 * <p>Thread safety: not thread-safe; one instance per rank, driven by its training thread. Collectives
 * run on the communicator's threads.
 */
public abstract class DataParallelOptimizer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DataParallelOptimizer.class);

    /**
     * Everything a stage needs to build itself.
     *
     * @param model the model (declared, not yet allocated)
     * @param seed the model seed
     * @param context this rank's groups
     * @param optimizer builds the optimizer of each flat range
     * @param bucketBytes gradient bucket size in fp32 bytes
     * @param manager the parent of every array the stage allocates
     * @param precision the compute precision; {@link Precision#BF16} is refused here, before any allocation
     * @param lossScaling the dynamic loss-scaling rule for {@link Precision#FP16} (ignored otherwise);
     *     null for DeepSpeed's defaults
     */
    public record Spec(Module model, long seed, ParallelContext context, OptimizerFactory optimizer, long bucketBytes,
                       NDManager manager, Precision precision, DynamicLossScaler.Config lossScaling) {
        public Spec {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(context, "context");
            Objects.requireNonNull(optimizer, "optimizer");
            Objects.requireNonNull(manager, "manager");
            Objects.requireNonNull(precision, "precision");
            precision.requireSupported();
            if (bucketBytes < 4) {
                throw new IllegalArgumentException("bucketBytes = " + bucketBytes + ": must be at least 4 (one fp32 element)");
            }
            if (lossScaling == null) {
                lossScaling = DynamicLossScaler.Config.builder().build();
            }
        }

        /** An fp32 run. */
        public Spec(Module model, long seed, ParallelContext context, OptimizerFactory optimizer, long bucketBytes,
                    NDManager manager) {
            this(model, seed, context, optimizer, bucketBytes, manager, Precision.FP32, null);
        }

        /**
         * @param precision the compute precision
         * @param lossScaling the loss-scaling rule for fp16, or null for DeepSpeed's defaults
         * @return this spec with another precision
         */
        public Spec withPrecision(Precision precision, DynamicLossScaler.Config lossScaling) {
            return new Spec(model, seed, context, optimizer, bucketBytes, manager, precision, lossScaling);
        }
    }

    protected final ParameterBuffer buffer;
    protected final ParallelContext context;
    protected final Communicator dp;
    protected final NDManager manager;
    protected final List<Bucket> buckets;
    private final int stage;
    private final Precision precision;
    private final DynamicLossScaler scaler;
    private final Map<Parameter, Bucket> bucketOf = new IdentityHashMap<>();
    private final int[] pending;
    private final boolean[] launched;
    private boolean communicate;
    private long backwardStart;
    private final List<String> trace = new ArrayList<>();
    private final Map<NDArray, NDArray[]> bucketViews = new IdentityHashMap<>();
    private final Set<Parameter> stageCopies;

    protected DataParallelOptimizer(int stage, Spec spec, boolean fullGradients, long bucketElements) {
        this.stage = stage;
        this.precision = spec.precision();
        this.scaler = precision.scalesLoss() ? new DynamicLossScaler(spec.lossScaling()) : null;
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
        this.stageCopies = spec.model() instanceof StageCopies sc ? sc.stageCopies()
                : Set.of();
    }

    /**
     * Creates the data-parallel optimizer of a ZeRO stage ({@link ZeroStage#create}).
     *
     * @param stage 0 (plain data parallelism) to 3
     * @param spec the model, seed, groups, optimizer and bucket size
     * @return the optimizer; it owns the model's parameter buffer
     */
    public static DataParallelOptimizer create(int stage, Spec spec) {
        int pp = spec.context().pipelineSize();
        if (pp > 1 && stage == 3) {
            throw new IllegalArgumentException("--zero 3 with pipeline parallelism (--pp " + pp + "): ZeRO-3 gathers every"
                    + " parameter in every micro-batch's forward and backward, which the pipeline's many micro-batches multiply"
                    + " (DeepSpeed refuses it too); use --zero 0, 1 or 2 with --pp");
        }
        return ZeroStage.of(stage).create(spec);
    }

    /**
     * Starts the reduction of every gradient bucket now and waits for it: what a pipeline step calls
     * once after the last backward of its schedule (its micro-batches' backward passes interleave, so
     * no single micro-batch ends the step; open every {@link #microBatch} with {@code lastMicroBatch}
     * false). Stages 0 and 1 only.
     *
     * @throws IllegalStateException for ZeRO-2 and ZeRO-3, which reduce every micro-batch
     */
    public final void reduceGradientsNow() {
        if (reducesEveryMicroBatch()) {
            throw new IllegalStateException("reduceGradientsNow: ZeRO-" + stage + " reduces every micro-batch; use stage 0 or 1");
        }
        communicate = true;
        for (Bucket b : buckets) {
            start(b, "on request (pipeline step)");
        }
        awaitReductions();
        communicate = false;
    }

    /**
     * Waits for the gradient reductions the last micro-batch started (stages 0 and 1), so that the caller
     * may work on the reduced gradients before {@link #step} (a pipeline sums the tied embedding's copies).
     *
     * @throws IllegalStateException for ZeRO-2 and ZeRO-3, whose reductions end with each micro-batch
     */
    public final void awaitGradientReductions() {
        if (reducesEveryMicroBatch()) {
            throw new IllegalStateException("awaitGradientReductions: ZeRO-" + stage + " reduces every micro-batch; use stage 0 or 1");
        }
        awaitReductions();
    }

    /** Waits for every bucket reduction started so far (stages 0 and 1). */
    protected void awaitReductions() {
        throw new UnsupportedOperationException("ZeRO-" + stage + " has no separate reduction wait");
    }

    /** @return the ZeRO stage */
    public final int stage() {
        return stage;
    }

    /** @return the compute precision */
    public final Precision precision() {
        return precision;
    }

    /**
     * The factor to seed backward with: {@code tape.backward(loss, full(loss.shape, lossScale()))}.
     *
     * @return the current loss scale {@code S} for fp16, 1 for fp32
     */
    public final double lossScale() {
        return scaler == null ? 1 : scaler.scale();
    }

    /** @return steps skipped so far because the fp16 gradients overflowed (0 for fp32) */
    public final long skippedSteps() {
        return scaler == null ? 0 : scaler.skippedSteps();
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
     * Opens a micro-batch: routes the tape's parameter access through this stage and starts bucket
     * reductions as backward finishes them. See {@link MicroBatch} for the protocol.
     *
     * @param tape the micro-batch's tape, before its forward is recorded
     * @param lastMicroBatch whether this micro-batch ends the step (stages 0 and 1 communicate only then)
     * @return the micro-batch; run {@link MicroBatch#backward} inside a try-with-resources block
     */
    public final MicroBatch microBatch(Tape tape, boolean lastMicroBatch) {
        Objects.requireNonNull(tape, "tape");
        tape.parameterAccess(precision == Precision.FP16 ? new HalfPrecisionAccess(access()) : access());
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
        return new MicroBatch(this, tape, lastMicroBatch);
    }

    /**
     * Called by {@link MicroBatch#backward} as its backward starts: the bucket counters are reset here,
     * not when the micro-batch opens, so that a pipeline schedule may hold several micro-batches open
     * (forward done) and run their backward passes one after the other.
     */
    final void beginBackward(boolean lastMicroBatch) {
        communicate = lastMicroBatch || reducesEveryMicroBatch();
        for (Bucket b : buckets) {
            pending[b.index()] = b.parameters().size();
            launched[b.index()] = false;
        }
        trace.clear();
        backwardStart = System.nanoTime();
    }

    /**
     * ZeRO-2 under pipeline parallelism: the gradients of these parameters (the tied word embedding's
     * copies on the first and the last stage) are summed into a whole local array of their own instead
     * of the bucket reduce-scatters, so that the two stages can add their arrays together before they
     * enter the shard ({@link #heldBackGradient}, {@link #reduceHeldBack}). Stage 2 only.
     *
     * @param parameters the parameters to hold back
     * @throws UnsupportedOperationException for the other stages (their full gradients already allow it)
     */
    public void holdBackGradients(Set<Parameter> parameters) {
        throw new UnsupportedOperationException("ZeRO-" + stage + " keeps full gradients; hold-back is for ZeRO-2");
    }

    /**
     * @param p a held-back parameter
     * @return its gradient summed over this step's micro-batches so far, to be added to in place
     */
    public NDArray heldBackGradient(Parameter p) {
        throw new UnsupportedOperationException("ZeRO-" + stage + " holds no gradient back");
    }

    /** Reduce-scatters the held-back gradients into the shard (after the stages summed them) and clears them. */
    public void reduceHeldBack() {
        throw new UnsupportedOperationException("ZeRO-" + stage + " holds no gradient back");
    }

    /** Starts the buckets that backward never completed (unused parameters) and finishes this micro-batch's communication. */
    final void endMicroBatch() {
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

    /** A micro-batch closed without backward (its forward failed): nothing more is communicated for it. */
    final void abandonMicroBatch() {
        communicate = false;
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
     * Awaits the gradient reductions, unscales them (fp16) and clips by the global norm, updates the
     * parameters and clears the gradients. A non-finite norm (an fp16 overflow) skips the update; under
     * fp16 the loss scale then halves, and it doubles after the scaler's window of clean steps.
     *
     * @param lr the learning rate
     * @param maxGradNorm clip threshold; 0 or less disables clipping (the norm is still computed)
     * @return what the step did
     */
    public final StepResult step(double lr, double maxGradNorm) {
        StepResult r = applyStep(lr, maxGradNorm, lossScale());
        if (scaler != null) {
            scaler.update(r.skipped());
        }
        return r;
    }

    /**
     * The stage's step: await reductions, {@link #clip} (which also divides by {@code lossScale}), update
     * unless skipped, clear the gradients.
     *
     * @param lr the learning rate
     * @param maxGradNorm clip threshold (≤ 0: none)
     * @param lossScale the factor the gradients carry (1 for fp32)
     * @return what the step did
     */
    protected abstract StepResult applyStep(double lr, double maxGradNorm, double lossScale);

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
     * Runs {@code writer} while every {@link Parameter#data()} holds its full value, and keeps what it
     * wrote as the parameters from now on, whatever the stage (stage 3 splits the new values back into
     * its pieces). Moments stay as they are. For loading pretrained weights into a freshly initialised
     * model, e.g. an encoder under a new task head. Collective over the data-parallel group.
     *
     * @param writer writes new values into {@code Parameter.data()} (every rank writes the same values)
     * @throws IOException if the writer fails
     */
    public final void setParameters(WithParameters writer) throws IOException {
        try (NDManager scratch = manager.newSubManager()) {
            FullState state = gatherFullState(scratch);
            withFullParameters(() -> {
                writer.run();
                io.tessera.core.Tensors.copyInto(state.params(), buffer().params());
            });
            loadFullState(state);
        }
    }

    /**
     * The tensors of a per-rank (format-1) checkpoint: parameters (the full local buffer, or this
     * rank's shard under stage 3), every optimizer's moments and step count, the loss scaler.
     *
     * @return name to tensor; views of live state, valid until the next step
     */
    public final Map<String, NDArray> stateDict() {
        return RankStateDict.of(this);
    }

    /**
     * Restores what {@link #stateDict()} saved, on the same layout.
     *
     * @param state the saved tensors
     * @throws IllegalArgumentException naming the first tensor that is missing or has another shape
     */
    public final void loadStateDict(Map<String, NDArray> state) {
        RankStateDict.load(this, state);
    }

    /** @return the array holding this rank's parameters (package access for the state readers) */
    final NDArray parameterStateArray() {
        return parameterState();
    }

    /** @return the manager of this stage's arrays */
    final NDManager stageManager() {
        return manager;
    }

    /**
     * Gathers this tensor-parallel rank's whole training state ({@link FullState#gather}). Collective
     * over the data-parallel group.
     *
     * @param owner manager of the returned arrays
     * @return the state
     * @throws IOException never in practice
     */
    public final FullState gatherFullState(NDManager owner) throws IOException {
        return FullState.gather(this, owner);
    }

    /**
     * Sets this rank's state from a {@link FullState} ({@link FullState#loadInto}). No communication.
     *
     * @param state the state
     */
    public final void loadFullState(FullState state) {
        state.loadInto(this);
    }

    /** @return the fp16 loss scaler, or null in fp32 */
    final DynamicLossScaler scaler() {
        return scaler;
    }

    /** @return this rank's optimizers, in a fixed order (package access for {@link FullState}) */
    final List<Optimizer> stageOptimizers() {
        return optimizers();
    }

    /** @return the data-parallel group */
    final Communicator dataParallelGroup() {
        return dp;
    }

    /**
     * Copies a whole flat parameter array into this rank's parameter state (stage 3 keeps only its
     * pieces).
     *
     * @param full the parameters laid out like {@link #buffer()}
     */
    protected void loadFullParameters(NDArray full) {
        io.tessera.core.Tensors.copyInto(buffer.params(), full);
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
     * Computes the global gradient norm over ranges, and unscales and clips in place in one pass:
     * <pre>
     *   ‖g‖ = ‖S·g‖ / S;   c = min(1, maxNorm / (‖g‖ + 1e-6));   g ← (c / S)·(S·g)     (skipped if ‖S·g‖ is not finite)
     * </pre>
     *
     * @param ranges the gradient ranges this rank holds
     * @param grads the gradients, one array per range, multiplied by {@code lossScale}
     * @param sharding whether ranges are replicated or partitioned over the data-parallel group
     * @param maxNorm clip threshold (≤ 0: none)
     * @param lossScale the factor {@code S} the gradients carry (1 for fp32)
     * @return norm (of the unscaled gradients) and coefficient
     */
    protected final StepResult clip(List<FlatRange> ranges, List<NDArray> grads, Sharding sharding, double maxNorm,
                                    double lossScale) {
        TensorNorms norms = TensorNorms.of(context, sharding);
        double squares = 0;
        for (int i = 0; i < ranges.size(); i++) {
            double n = new GradientNorm(ranges.get(i), norms).compute(grads.get(i), s -> !stageCopies.contains(s.parameter())).norm();
            squares += n * n;
        }
        if (context.pipelineSize() > 1) {
            // Each stage holds other layers: the squares add up over the pipeline group (stage copies counted once, above).
            try (NDManager scratch = manager.newSubManager()) {
                NDArray total = scratch.create(new float[] {(float) squares});
                context.pipeline().allReduce(total, ReduceOp.SUM);
                squares = total.getFloat();
            }
        }
        double norm = Math.sqrt(squares) / lossScale;
        if (!Double.isFinite(norm)) {
            if (scaler != null) {
                LOG.info("rank {}: fp16 gradients overflowed at loss scale {}; skipping the optimizer step", context.rank(), lossScale);
            } else {
                LOG.warn("rank {}: gradient norm is {}; skipping the optimizer step", context.rank(), norm);
            }
            return new StepResult(norm, 1, true, lossScale);
        }
        double coefficient = maxNorm > 0 ? Math.min(1, maxNorm / (norm + GradientNorm.EPSILON)) : 1;
        double factor = coefficient / lossScale;
        if (factor != 1) {
            try (Torch.GradMode g = Torch.gradMode(false)) {
                for (NDArray a : grads) {
                    a.muli(factor);
                }
            }
        }
        return new StepResult(norm, coefficient, false, lossScale);
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
