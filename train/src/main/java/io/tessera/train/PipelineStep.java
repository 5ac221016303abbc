package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Compute;
import io.tessera.core.Rng;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.LossTerms;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.MicroBatch;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.pipeline.LayerPartition;
import io.tessera.parallel.pipeline.PipelineAction;
import io.tessera.parallel.pipeline.PipelineSchedule;
import io.tessera.parallel.pipeline.ScheduleKind;
import io.tessera.parallel.tensor.SequenceParallel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The forward and backward passes of one optimizer step on a pipeline rank: {@link GlobalBatchStep}'s
 * contract (gradients of the global batch's loss, normalised by its label counts) for a model cut into
 * stages, run in the order of a {@link PipelineSchedule}.
 *
 * <pre>
 *   counts_term = Σ over the data-parallel group of labelCounts(micro-batches)     (every stage has the batches)
 *   for action in schedule.actions(stage):
 *     F(i, c): tape_{i,c}; x = embed(batch_i) on virtual stage 0, else x = recv from vs − 1 (a leaf with gradient)
 *              y = chunk(c, x); last virtual stage: loss_i = Σ_terms w · sum / counts, else send y to vs + 1
 *     B(i, c): last virtual stage: backward(loss_i), seeded with the loss scale; else backward(y, recv from vs + 1)
 *              send ∂/∂x to vs − 1 (not on virtual stage 0); close tape_{i,c} (its activations are freed)
 *   then:  ZeRO 0/1: gradient buckets all-reduced over the data-parallel group (once per step: during the last
 *          micro-batch's backward with one chunk per rank, after the schedule when interleaved), then the tied
 *          word embedding's gradients of stage 0 and stage p−1 summed (both then equal), as Megatron does
 *          ZeRO-2: every backward already reduce-scattered its buckets; the tied embedding's gradient was held
 *          back whole ({@link DataParallelOptimizer#holdBackGradients}), is summed over the two stages, then
 *          reduce-scattered into each stage's shard
 *   reported loss: the last stage's sums, all-reduced over the data-parallel group, shared over the pipeline group
 * </pre>
 *
 * <p>The caller then calls {@code optimizer.step}: its gradient norm adds the stages' squares over the
 * pipeline group, the tied copy counted once. Micro-batch {@code i} of step {@code s} draws dropout from
 * tape seed {@code mix(seed, s, dp rank, i, chunk)}: with dropout on, masks differ from the one-stage run.
 * {@link #peakInFlight} is the most micro-batch chunks whose activations this rank held at once during
 * the last step (forward done, backward not yet): at most p for 1F1B, m for GPipe.
 *
 * <p>Thread safety: not thread-safe; one per rank.
 */
public final class PipelineStep {

    private record Open(NDManager scope, Tape tape, MicroBatch microBatch, Var input, Var output) {}

    private final PipelinedModel model;
    private final DataParallelOptimizer optimizer;
    private final ParallelContext ctx;
    private final Compute compute;
    private final long seed;
    private final ScheduleKind kind;
    private final int hidden;
    private int peakInFlight;
    private double scheduleSeconds;
    private double waitSeconds;

    /**
     * @param model this rank's stage of the model
     * @param hiddenSize C, the width of the hidden states sent between stages
     * @param optimizer its data-parallel optimizer (ZeRO 0 or 1)
     * @param ctx this rank's parallel context
     * @param kind the schedule; interleaved needs the model built with v ≥ 2 chunks per rank
     * @param compute the run's GEMM strategy
     * @param seed the run's seed
     */
    public PipelineStep(PipelinedModel model, int hiddenSize, DataParallelOptimizer optimizer, ParallelContext ctx, ScheduleKind kind,
                        Compute compute, long seed) {
        this.model = Objects.requireNonNull(model, "model");
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.compute = Objects.requireNonNull(compute, "compute");
        this.seed = seed;
        this.hidden = hiddenSize;
        LayerPartition part = model.partition();
        if (part.stages() != ctx.pipelineSize() || part.stage() != ctx.pipelineRank()) {
            throw new IllegalArgumentException("pipeline step: the model is stage " + part.stage() + " of " + part.stages()
                    + " but this rank is stage " + ctx.pipelineRank() + " of " + ctx.pipelineSize());
        }
        if (optimizer.stage() == 2 && !model.tiedParameters().isEmpty()) {
            // Summed over the two stages before they enter the shard, whose layouts differ between stages.
            optimizer.holdBackGradients(java.util.Set.copyOf(model.tiedParameters()));
        }
        if ((kind == ScheduleKind.INTERLEAVED) != (part.chunks() > 1)) {
            throw new IllegalArgumentException("--schedule " + kind.flag() + " with a model of " + part.chunks() + " chunk(s) per"
                    + " rank: interleaved needs --virtual-stages ≥ 2, the other schedules 1");
        }
    }

    /** @return the most micro-batch chunks whose activations this rank held at once in the last step */
    public int peakInFlight() {
        return peakInFlight;
    }

    /** @return wall seconds of the last step's schedule (its forward and backward actions, receives included) */
    public double scheduleSeconds() {
        return scheduleSeconds;
    }

    /**
     * @return seconds of the last step's schedule this rank spent receiving, i.e. waiting for a neighbour:
     *     its share of the pipeline bubble (the rest of the schedule is its compute)
     */
    public double waitSeconds() {
        return waitSeconds;
    }

    /**
     * Runs the step's passes; the caller then calls {@code optimizer.step(lr, clip)}.
     *
     * @param step the 0-based step
     * @param batches this rank's micro-batches, the same on every stage of its pipeline group
     * @param manager the scope of the step's scratch tensors
     * @return the step's global loss, the same on every rank
     */
    public GlobalBatchStep.Loss run(int step, List<TokenBatch> batches, NDManager manager) {
        int m = batches.size();
        LayerPartition part = model.partition();
        int p = part.stages();
        PipelineSchedule schedule = PipelineSchedule.of(kind, p, m, part.chunks());
        GlobalBatchStep.GlobalCounts counts = GlobalBatchStep.GlobalCounts.of(model::labelCounts, batches, ctx, manager);
        List<String> names = counts.names();
        double[] global = counts.global();
        double[] sums = new double[names.size()];
        double[] weights = new double[names.size()];
        StageMessages messages = new StageMessages(schedule, ctx.pipeline(),
                i -> new Shape(batches.get(i).batchSize(), localLength(ctx, batches.get(i)), hidden), manager);
        Map<Long, Open> open = new HashMap<>();
        peakInFlight = 0;
        long scheduleStart = System.nanoTime();
        try {
            for (PipelineAction a : schedule.actions(part.stage())) {
                int i = a.microBatch();
                int c = a.chunk();
                int vs = part.virtualStage(c);
                long key = ((long) i << 8) | c;
                if (a.pass() == PipelineAction.Pass.FORWARD) {
                    NDManager scope = manager.newSubManager();
                    Tape tape = new Tape(scope, Rng.mix(seed, step, ctx.dataRank(), i, c), true).gemm(compute.gemm());
                    // One chunk per rank: micro-batch m − 1's backward is the stage's last, so its buckets reduce as it
                    // finishes them (overlapped, as without pipeline). Interleaved: all reduce after the schedule.
                    MicroBatch mb = optimizer.microBatch(tape, part.chunks() == 1 && i == m - 1);
                    open.put(key, new Open(scope, tape, mb, null, null));
                    Var x = part.startsModel(c) ? model.embed(tape, batches.get(i))
                            : tape.variable(messages.receive(StageMessages.Kind.ACTIVATION, i, vs, scope));
                    Var y = model.chunk(tape, c, x, batches.get(i));
                    Var out;
                    if (part.endsModel(c)) {
                        LossTerms terms = model.head(tape, y, batches.get(i), false);
                        out = GlobalBatchStep.globallyNormalised(tape, terms, names, global, sums, weights, step);
                    } else {
                        messages.send(StageMessages.Kind.ACTIVATION, vs, y.value());
                        out = y;
                    }
                    open.put(key, new Open(scope, tape, mb, part.startsModel(c) ? null : x, out));
                    peakInFlight = Math.max(peakInFlight, open.size());
                } else {
                    Open o = open.remove(key);
                    try {
                        if (part.endsModel(c)) {
                            o.microBatch().backward(o.output());
                        } else {
                            o.microBatch().backward(o.output(), messages.receive(StageMessages.Kind.GRADIENT, i, vs, o.scope()));
                        }
                        if (o.input() != null) {
                            NDArray g = o.input().grad();
                            messages.send(StageMessages.Kind.GRADIENT, vs, g != null ? g : o.scope().zeros(o.input().value().getShape()));
                        }
                    } finally {
                        close(o);
                    }
                }
            }
        } finally {
            open.values().forEach(PipelineStep::closeQuietly);
        }
        scheduleSeconds = (System.nanoTime() - scheduleStart) / 1e9;
        waitSeconds = messages.waitNanos() / 1e9;
        if (optimizer.stage() == 2) {
            syncTied(manager);             // ZeRO-2 reduced every micro-batch; the tied gradients were held back
            optimizer.reduceHeldBack();
        } else {
            if (part.chunks() == 1) {
                optimizer.awaitGradientReductions();
            } else {
                optimizer.reduceGradientsNow();
            }
            syncTied(manager);
        }
        double[] shared = new double[2 * names.size()];
        double[] total = BatchTensors.allReduceSum(ctx.data(), sums, manager);
        for (int k = 0; k < names.size(); k++) {
            shared[k] = part.holdsHead() ? total[k] : 0;
            shared[names.size() + k] = part.holdsHead() ? weights[k] : 0;
        }
        shared = BatchTensors.allReduceSum(ctx.pipeline(), shared, manager);
        Map<String, Double> perTerm = new LinkedHashMap<>();
        double loss = 0;
        for (int k = 0; k < names.size(); k++) {
            perTerm.put(names.get(k), shared[k]);
            loss += shared[names.size() + k] * shared[k];
        }
        return new GlobalBatchStep.Loss(loss, perTerm);
    }

    /** The sequence positions a stage's hidden states hold: T, or T / tp under sequence parallelism. */
    static int localLength(ParallelContext ctx, TokenBatch b) {
        return ctx.sequenceParallel() ? SequenceParallel.localLength(ctx.tensor(), b.seqLength()) : b.seqLength();
    }

    /** Sums the tied parameters' gradients of stage 0 and stage p − 1 (after the data-parallel reduction). */
    private void syncTied(NDManager manager) {
        List<Parameter> tied = model.tiedParameters();
        if (tied.isEmpty()) {
            return;
        }
        LayerPartition part = model.partition();
        int other = part.holdsEmbedding() ? part.stages() - 1 : 0;
        try (NDManager scratch = manager.newSubManager()) {
            List<NDArray> theirs = new ArrayList<>();
            for (Parameter t : tied) {
                NDArray mine = optimizer.stage() == 2 ? optimizer.heldBackGradient(t) : t.grad();
                NDArray received = scratch.zeros(mine.getShape(), mine.getDataType());
                if (part.holdsEmbedding()) {
                    ctx.pipeline().send(mine, other);
                    ctx.pipeline().recv(received, other);
                } else {
                    ctx.pipeline().recv(received, other);
                    ctx.pipeline().send(mine, other);
                }
                theirs.add(received);
            }
            for (int k = 0; k < tied.size(); k++) {
                Parameter t = tied.get(k);
                (optimizer.stage() == 2 ? optimizer.heldBackGradient(t) : t.grad()).addi(theirs.get(k)); // a + b = b + a
            }
        }
    }

    private static void close(Open o) {
        try {
            o.microBatch().close();
        } finally {
            o.tape().close();
            o.scope().close();
        }
    }

    private static void closeQuietly(Open o) {
        try {
            o.tape().close();
        } finally {
            o.scope().close();
        }
    }
}
