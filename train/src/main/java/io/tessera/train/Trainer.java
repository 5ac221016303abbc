package io.tessera.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.train.data.BertDataConfig;
import io.tessera.train.data.DistributedBatchSampler;
import io.tessera.train.data.HfTokenizerFiles;
import io.tessera.train.data.ExampleDataset;
import io.tessera.train.data.Vocabulary;
import io.tessera.models.LossTerms;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.optim.amp.Precision;
import io.tessera.optim.schedule.LearningRateSchedule;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.ModelStateMemory;
import io.tessera.optim.zero.StepResult;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The pretraining loop of one rank: data, model, ZeRO/data-parallel optimizer, evaluation, metrics and
 * checkpoints. Every rank of the job runs it with its own {@link ParallelContext}.
 *
 * <pre>
 *   for each step:
 *     for each micro-batch m of this data-parallel rank:
 *       tape ─▶ model.lossTerms: Σ loss per term ─▶ Σ_terms sum / global label count ─▶ MicroBatch.backward  ({@link GlobalBatchStep})
 *       (buckets reduce while backward runs; stages 0–1 only on the last micro-batch)
 *     optimizer.step(lr(step), clip) ─▶ listeners (metrics file, console, yours) ─▶ evaluation / checkpoint when due
 * </pre>
 *
 * <p>With {@code --precision fp16} the nodes compute in fp16 from fp32 master weights, backward is
 * seeded with the optimizer's loss scale instead of 1, and a step whose gradients overflowed is skipped
 * (the scale halves); each metrics row records {@code loss_scale}, {@code skipped} and
 * {@code skipped_steps}. Held-out evaluation reads the fp32 master weights in fp32.
 *
 * <p>The trainer knows no model family: the model says which positions carry labels and what each
 * loss term sums ({@link LossTerms}). Losses are normalised by the label count of the <em>global</em> batch and gradients summed over
 * the data-parallel group, so every layout (TP, DP, ZeRO stage, micro-batching) computes the same
 * gradient as one process on the whole batch, up to floating-point summation order.
 *
 * <p>Thread safety: one call of {@link #run} per rank; ranks may be threads of one JVM.
 */
public final class Trainer {

    /** What a run produced. */
    public record Result(List<Double> losses, Evaluation before, Evaluation after, Path exported, double tokensPerSecond,
                         ModelStateMemory memory, List<StepResult> steps) {}

    private final TrainConfig cfg;
    private final ParallelContext ctx;
    private final Device device;
    private final PrintStream log;
    private final List<TrainingListener> extraListeners;
    private final Compute compute;
    private final TrainingRecipe recipe;

    /**
     * A trainer on the CPU.
     *
     * @param cfg the run
     * @param ctx this rank's groups
     * @param log where rank 0 reports progress
     */
    public Trainer(TrainConfig cfg, ParallelContext ctx, PrintStream log) {
        this(cfg, ctx, Device.cpu(), log);
    }

    /**
     * @param cfg the run
     * @param ctx this rank's groups; on a CUDA device their communicators must take CUDA tensors (NCCL,
     *     see {@code io.tessera.parallel.nccl.NcclGroups}) unless the group has one rank
     * @param device where this rank's model, optimizer state and batches live ({@link Devices#resolve})
     * @param log where rank 0 reports progress
     */
    public Trainer(TrainConfig cfg, ParallelContext ctx, Device device, PrintStream log) {
        this(cfg, ctx, device, log, List.of());
    }

    /**
     * @param cfg the run
     * @param ctx this rank's groups
     * @param device where this rank computes
     * @param log where rank 0 reports progress
     * @param listeners called on rank 0 after the metrics file and the console
     */
    public Trainer(TrainConfig cfg, ParallelContext ctx, Device device, PrintStream log, List<TrainingListener> listeners) {
        this(cfg, ctx, device, log, listeners, Compute.ofProcess());
    }

    /**
     * @param cfg the run
     * @param ctx this rank's groups
     * @param device where this rank computes
     * @param log where rank 0 reports progress
     * @param listeners called on rank 0 after the metrics file and the console
     * @param compute the run's GEMM strategy (every step's and evaluation's tapes use it; checkpoints
     *     record its plan and a resumed run adopts the saved one) and thread count
     */
    public Trainer(TrainConfig cfg, ParallelContext ctx, Device device, PrintStream log, List<TrainingListener> listeners,
            Compute compute) {
        this.compute = Objects.requireNonNull(compute, "compute");
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.device = Objects.requireNonNull(device, "device");
        this.log = Objects.requireNonNull(log, "log");
        this.extraListeners = List.copyOf(listeners);
        this.recipe = TrainingRecipe.PRETRAINING;
        Preflight.checkLayout(ctx, cfg.tensorParallel(), cfg.dataParallel());
        if (ctx.pipelineSize() != cfg.pipelineParallel()) {
            throw new IllegalArgumentException("rank " + ctx.rank() + ": the job has " + ctx.pipelineSize() + " pipeline stages but the"
                    + " configuration asks for --pp " + cfg.pipelineParallel() + "; launch tp × pp × dp ranks with that layout");
        }
    }

    private Trainer(Trainer base, TrainingRecipe recipe) {
        this.cfg = base.cfg;
        this.ctx = base.ctx;
        this.device = base.device;
        this.log = base.log;
        this.extraListeners = base.extraListeners;
        this.compute = base.compute;
        this.recipe = Objects.requireNonNull(recipe, "recipe");
    }

    /**
     * @param recipe how the run starts and what its steps minimise (distillation); default
     *     {@link TrainingRecipe#PRETRAINING}
     * @return a trainer of the same run with that recipe
     */
    public Trainer withRecipe(TrainingRecipe recipe) {
        if (cfg.pipelineParallel() > 1 && recipe != TrainingRecipe.PRETRAINING) {
            throw new IllegalArgumentException("--pp " + cfg.pipelineParallel() + ": only pre-training runs in pipeline stages yet;"
                    + " use --pp 1 for this recipe");
        }
        return new Trainer(this, recipe);
    }

    /**
     * Runs the configured steps (or the rest of them when resuming).
     *
     * @return losses, evaluations and the exported model folder
     * @throws IOException on data, checkpoint or export I/O failures
     */
    public Result run() throws IOException {
        boolean lead = ctx.rank() == 0;
        if (lead) {
            RunFolder.prepare(cfg.out(), cfg.resume(), cfg.overwrite(), true);
        }
        ctx.world().barrier();
        TrainingData data = TrainingData.load(cfg);
        if (lead) {
            data.vocabulary().save(cfg.out().resolve("vocab.txt"));
        }
        TransformerConfig modelConfig = modelConfig(data.vocabulary());
        if (lead && !cfg.resume()) {
            RunRecord.write(cfg, modelConfig);
        }
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = TransformerModel.of(modelConfig, stageContext());
            try (DataParallelOptimizer dpo = newOptimizer(model, manager)) {
                List<TrainingListener> listeners = lead ? listeners() : List.of();
                try {
                    return train(data, model, dpo, manager, listeners);
                } finally {
                    listeners.forEach(TrainingListener::onEnd);
                }
            }
        }
    }

    private List<TrainingListener> listeners() throws IOException {
        List<TrainingListener> all = new ArrayList<>();
        all.add(new MetricsFile(cfg.out().resolve("metrics.jsonl")));
        all.add(new ConsoleProgress(log, cfg.progress()));
        all.addAll(extraListeners);
        return all;
    }

    private Result train(TrainingData data, TransformerModel model, DataParallelOptimizer dpo, NDManager manager,
                         List<TrainingListener> listeners) throws IOException {
        CheckpointStore checkpoints = new CheckpointStore(cfg.out(), compute.gemm());
        int start = cfg.resume() ? checkpoints.load(null, cfg, model, dpo, manager) : 0;
        if (!cfg.resume()) {
            recipe.initialise(model, dpo, cfg.out(), manager);
        }
        if (!listeners.isEmpty() && cfg.resume()) {
            log.printf("resumed from step %d of %s%n", start, checkpoints.root());
        }
        boolean fp16 = cfg.precision() == Precision.FP16;
        if (!listeners.isEmpty() && fp16) {
            log.printf("precision fp16: fp16 compute, fp32 master weights and optimizer states, loss scale %.0f"
                    + " (halved on overflow, doubled after %d clean steps)%n", dpo.lossScale(), cfg.lossScaleWindow());
        }
        DistributedBatchSampler sampler = sampler(data.train(), true);
        boolean pipelined = cfg.pipelineParallel() > 1;
        GlobalBatchStep passes = pipelined ? null : new GlobalBatchStep(recipe.objective(model, manager), ctx, dpo, compute, cfg.seed());
        PipelineStep stages = pipelined ? new PipelineStep((PipelinedModel) model, model.config().hiddenSize(), dpo,
                model.parallel(), cfg.schedule(), compute, cfg.seed()) : null;
        Evaluator evaluator = new Evaluator(ctx, sampler(data.heldOut(), false), cfg.evalBatches(), cfg.task(), compute);
        LearningRateSchedule schedule = LearningRateSchedule.builder().peak(cfg.lr()).warmupSteps(cfg.warmupSteps())
                .linearDecay(cfg.steps()).build();
        Evaluation before = evaluator.evaluate(model, dpo, manager, start);
        listeners.forEach(l -> l.onEvaluation(before));
        listeners.forEach(l -> l.onStart(start, cfg.steps()));
        double flopsPerStep = TransformerFlops.trainingStep(ModelShape.of(model.config(), cfg.globalBatch(), cfg.seqLength())
                .withPredictedPerSequence(model.projectedPositions(cfg.seqLength(), labelledPerSequence(cfg))));
        long tokensPerStep = (long) cfg.globalBatch() * cfg.seqLength();
        List<Double> losses = new ArrayList<>();
        List<StepResult> stepResults = new ArrayList<>();
        double seconds = 0;
        for (int step = start; step < cfg.steps(); step++) {
            long t0 = System.nanoTime();
            GlobalBatchStep.Loss sl;
            try (NDManager stepScope = manager.newSubManager()) {
                List<TokenBatch> micro = microBatches(sampler, step, stepScope);
                sl = pipelined ? stages.run(step, micro, stepScope) : passes.run(step, micro, stepScope);
            }
            double lr = schedule.lr(step);
            StepResult r = dpo.step(lr, cfg.maxGradNorm());
            // On a GPU the update's kernels are still queued here; without this wait they would be
            // timed in the next step, or in an evaluation or checkpoint, and not at all after the last step.
            Devices.synchronize(manager);
            double dt = (System.nanoTime() - t0) / 1e9;
            seconds += dt;
            losses.add(sl.loss());
            stepResults.add(r);
            Optional<Devices.Memory> deviceMemory = Devices.memory(device);
            StepReport report = new StepReport(step + 1, cfg.steps(), sl.loss(), sl.terms(), lr, r, dpo.skippedSteps(), fp16, dt,
                    tokensPerStep / dt, flopsPerStep / dt / 1e12 / cfg.world(), Devices.residentMegabytes(), device.toString(),
                    deviceMemory.map(Devices.Memory::usedMegabytes).orElse(Double.NaN));
            listeners.forEach(l -> l.onStep(report));
            boolean last = step + 1 == cfg.steps();
            if (cfg.evalEvery() > 0 && (step + 1) % cfg.evalEvery() == 0 && !last) {
                Evaluation e = evaluator.evaluate(model, dpo, manager, step + 1);
                listeners.forEach(l -> l.onEvaluation(e));
            }
            if (last || (cfg.checkpointEvery() > 0 && (step + 1) % cfg.checkpointEvery() == 0)) {
                checkpoints.save(step + 1, sampler.position(step + 1), cfg, model, dpo, manager);
            }
        }
        Evaluation after = before;
        if (start < cfg.steps()) {
            after = evaluator.evaluate(model, dpo, manager, cfg.steps());
            Evaluation done = after;
            listeners.forEach(l -> l.onEvaluation(done));
        }
        Path exported = cfg.out().resolve("model");
        Map<String, byte[]> tokenizer = tokenizerFiles(data.vocabulary(), model.config(), !cfg.cased());
        if (pipelined) {
            exportStages(model, dpo, exported, tokenizer, manager);
        } else {
            dpo.withFullParameters(() -> HfCheckpoint.save(model, exported, tokenizer));
        }
        if (!listeners.isEmpty()) {
            log.println("exported Hugging Face model to " + exported);
        }
        int ran = cfg.steps() - start;
        return new Result(losses, before, after, exported, ran == 0 ? 0 : ran * tokensPerStep / seconds, dpo.memory(), stepResults);
    }

    /**
     * Consolidates a run's checkpoint into a Hugging Face model directory. Checkpoints are
     * layout-independent, so any layout of ranks may call it together (every rank of the job).
     *
     * @param checkpoint the {@code step-*} folder, or null for the latest
     * @param target the model directory to write
     * @throws IOException if reading or writing fails
     */
    public void export(Path checkpoint, Path target) throws IOException {
        TransformerConfig modelConfig = cfg.model();
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = TransformerModel.of(modelConfig, stageContext());
            try (DataParallelOptimizer dpo = newOptimizer(model, manager)) {
                int step = new CheckpointStore(cfg.out(), compute.gemm()).load(checkpoint, cfg, model, dpo, manager);
                Vocabulary vocabulary = Vocabulary.load(cfg.out().resolve("vocab.txt"));
                dpo.withFullParameters(() -> HfCheckpoint.save(model, target, tokenizerFiles(vocabulary, modelConfig, !cfg.cased())));
                if (ctx.rank() == 0) {
                    log.printf("exported step %d of %s to %s%n", step, cfg.out(), target);
                }
            }
        }
    }

    /**
     * The tokenizer files that go beside an exported model ({@link HfTokenizerFiles}): the vocabulary,
     * tokenized as runs tokenize (uncased), up to the model's max positions.
     *
     * @param vocabulary the run's vocabulary
     * @param modelConfig the exported model
     * @return file name → content, for {@link HfCheckpoint#save(TransformerModel, Path, Map)}
     */
    public static Map<String, byte[]> tokenizerFiles(Vocabulary vocabulary, TransformerConfig modelConfig) {
        return tokenizerFiles(vocabulary, modelConfig, TrainingData.LOWER_CASE);
    }

    /**
     * @param vocabulary the run's vocabulary
     * @param modelConfig the exported model
     * @param lowerCase whether the run tokenised uncased
     * @return file name → content
     */
    public static Map<String, byte[]> tokenizerFiles(Vocabulary vocabulary, TransformerConfig modelConfig, boolean lowerCase) {
        return HfTokenizerFiles.of(vocabulary, lowerCase, modelConfig.maxSequenceLength(),
                modelConfig.architecture() == io.tessera.models.config.Architecture.GPT2);
    }

    /** This rank's micro-batches of one step, as tensors in {@code scope}. */
    private List<TokenBatch> microBatches(DistributedBatchSampler sampler, int step, NDManager scope) {
        DistributedBatchSampler.Position pos = sampler.position(step);
        List<TokenBatch> batches = new ArrayList<>(sampler.microBatchesPerStep());
        for (int m = 0; m < sampler.microBatchesPerStep(); m++) {
            batches.add(BatchTensors.of(scope, sampler.microBatch(pos, m), cfg.task()));
        }
        return batches;
    }

    private DistributedBatchSampler sampler(ExampleDataset dataset, boolean shuffle) {
        if (dataset.size() < cfg.globalBatch()) {
            throw new IllegalArgumentException("--global-batch " + cfg.globalBatch() + " is larger than the " + dataset.size()
                    + " examples built from the corpus at --seq-length " + cfg.seqLength() + "; use a smaller global batch");
        }
        return DistributedBatchSampler.builder().setDataset(dataset).setGlobalBatchSize(cfg.globalBatch())
                .setMicroBatchSize(cfg.microBatch()).optDataParallelSize(ctx.dataSize()).optDataParallelRank(ctx.dataRank())
                .optShuffle(shuffle).build();
    }

    /** The configured model sized to the run's vocabulary, with its padding id (RoBERTa numbers positions from it). */
    private TransformerConfig modelConfig(Vocabulary vocabulary) {
        TransformerConfig.Builder b = cfg.model().toBuilder().setVocabSize(vocabulary.size()).optPadTokenId(vocabulary.padId());
        if (cfg.dropout() != null) {
            b.optHiddenDropout(cfg.dropout()).optAttentionDropout(cfg.dropout());
            io.tessera.models.config.AlbertShape albert = cfg.model().albert();
            if (albert != null) { // ALBERT's sentence-order head has its own dropout; --dropout sets every one
                b.optAlbert(new io.tessera.models.config.AlbertShape(albert.embeddingSize(), albert.numHiddenGroups(),
                        albert.innerGroupNum(), cfg.dropout()));
            }
        }
        return b.build();
    }

    /** The model's parameters and optimizer state, laid out by the run's ZeRO stage (owns the parameter buffer). */
    /** This rank's context with the run's virtual stages and sequence parallelism. */
    private ParallelContext stageContext() {
        return ctx.withVirtualStages(cfg.virtualStages()).withSequenceParallel(cfg.sequenceParallel());
    }

    /**
     * Exports a model held in pipeline stages: the stages' tensors are gathered to world rank 0
     * ({@link GlobalState#gather}), which builds the whole model in one process (tensor-parallel degree 1)
     * from them and writes the Hugging Face directory.
     */
    private void exportStages(TransformerModel model, DataParallelOptimizer dpo, Path exported, Map<String, byte[]> tokenizer,
                              NDManager manager) throws IOException {
        try (NDManager scope = manager.newSubManager()) {
            GlobalState.Gathered g = GlobalState.gather(model, dpo, scope);
            if (ctx.rank() == 0) {
                ParallelContext one = ParallelContext.single();
                TransformerModel whole = TransformerModel.of(model.config(), one);
                try (DataParallelOptimizer wholeState = DataParallelOptimizer.create(0, new DataParallelOptimizer.Spec(whole, cfg.seed(),
                        one, cfg.optimizer().factory(cfg.weightDecay()), cfg.bucketBytes(), scope))) {
                    GlobalState.scatter(whole, wholeState, g.tensors(), g.optimizerSteps(), g.lossScaler(), "the pipeline stages");
                    HfCheckpoint.save(whole, exported, tokenizer);
                }
            }
        }
        ctx.world().barrier();
    }

    private DataParallelOptimizer newOptimizer(TransformerModel model, NDManager manager) {
        return cfg.zero().create(new DataParallelOptimizer.Spec(model, cfg.seed(), model.parallel(),
                cfg.optimizer().factory(cfg.weightDecay()), cfg.bucketBytes(), manager)
                .withPrecision(cfg.precision(), cfg.lossScaling()));
    }

    /** Expected labelled positions per sequence: the masking share of BERT's data (0.15), every position for GPT-2. */
    private static double labelledPerSequence(TrainConfig cfg) {
        return cfg.task() == Task.GPT2 ? cfg.seqLength() : BertDataConfig.builder().build().maskProbability() * cfg.seqLength();
    }
}
