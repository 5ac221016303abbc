package io.tessera.train.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.checkpoint.LoadReport;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.optim.schedule.LearningRateSchedule;
import io.tessera.optim.zero.Bucket;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.StepResult;
import io.tessera.parallel.ParallelContext;
import io.tessera.train.ConsoleProgress;
import io.tessera.train.Evaluation;
import io.tessera.train.GlobalBatchStep;
import io.tessera.train.MetricsFile;
import io.tessera.train.Preflight;
import io.tessera.train.RunFolder;
import io.tessera.train.StepReport;
import io.tessera.train.TrainingListener;
import io.tessera.train.data.DistributedBatchSampler;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Fine-tuning of one rank: a pretrained Hugging Face encoder under a new task head, trained on a
 * task's training file and scored on its dev file, with the best dev model kept as a Hugging Face
 * directory. Every rank of the job runs it with its own {@link ParallelContext}.
 *
 * <pre>
 *   model dir ─▶ config.json + head(id2label from the training labels) ─▶ TransformerModel.of ─▶ optimizer
 *             ─▶ HfCheckpoint.load (encoder copied, head initialised from the seed; DataParallelOptimizer.setParameters)
 *   for each step (epochs × ⌊train / global batch⌋, or --max-steps):
 *     {@link GlobalBatchStep} over this rank's trimmed micro-batches ─▶ optimizer.step(lr(step), clip)
 *     at each epoch's end (or every --eval-every steps): {@link TaskPredictor} on dev ─▶ accuracy / macro-F1
 *       or entity P/R/F1 (conlleval) ─▶ metrics.jsonl; a better score than any before exports out/model
 * </pre>
 *
 * <p>Because the step is pretraining's ({@link GlobalBatchStep}: losses normalised by the global
 * batch's label count, gradients summed over data-parallel ranks), every layout computes the same
 * update as one process, up to summation order. The learning rate warms up linearly over
 * {@code warmupRatio} of the steps and decays linearly to 0 at the last.
 *
 * <p>Thread safety: one call of {@link #run} per rank; ranks may be threads of one JVM.
 */
public final class FineTuner {

    /**
     * What a run produced.
     *
     * @param losses each step's training loss
     * @param evaluations every dev evaluation, in order
     * @param best the evaluation whose model was exported
     * @param exported the exported directory ({@code out/model})
     * @param labels the task's labels, in id order
     */
    public record Result(List<Double> losses, List<Evaluation> evaluations, Evaluation best, Path exported, LabelSet labels) {}

    /** The name of the exported model folder under {@code --out}. */
    public static final String MODEL_DIR = "model";

    private final FineTuneConfig cfg;
    private final ParallelContext ctx;
    private final Device device;
    private final PrintStream log;
    private final List<TrainingListener> extraListeners;
    private final Compute compute;

    /**
     * @param cfg the run
     * @param ctx this rank's groups ({@code tp × dp} ranks as the configuration says)
     * @param device where this rank computes
     * @param log where rank 0 reports progress
     * @param listeners called on rank 0 after the metrics file and the console
     * @param compute the GEMM strategy and threads of every tape
     */
    public FineTuner(FineTuneConfig cfg, ParallelContext ctx, Device device, PrintStream log, List<TrainingListener> listeners,
            Compute compute) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.device = Objects.requireNonNull(device, "device");
        this.log = Objects.requireNonNull(log, "log");
        this.extraListeners = List.copyOf(listeners);
        this.compute = Objects.requireNonNull(compute, "compute");
        Preflight.checkLayout(ctx, cfg.tensorParallel(), cfg.dataParallel());
    }

    /**
     * A fine-tuner on the CPU with the process's GEMM strategy.
     *
     * @param cfg the run
     * @param ctx this rank's groups
     * @param log where rank 0 reports progress
     */
    public FineTuner(FineTuneConfig cfg, ParallelContext ctx, PrintStream log) {
        this(cfg, ctx, Device.cpu(), log, List.of(), Compute.ofProcess());
    }

    /**
     * The task model a directory and a label set give: the directory's encoder with the task's head.
     *
     * @param modelDir a Hugging Face directory
     * @param task the task
     * @param labels the labels
     * @param dropout hidden, attention and classifier dropout, or null to keep the directory's
     * @return the configuration
     * @throws IOException if config.json cannot be read
     */
    public static TransformerConfig taskConfig(Path modelDir, FineTuneTask task, LabelSet labels, Double dropout) throws IOException {
        TransformerConfig base = HfConfigJson.read(modelDir);
        HeadConfig head = task == FineTuneTask.SEQUENCE_CLASSIFICATION ? HeadConfig.sequenceClassification(labels.labels())
                : HeadConfig.tokenClassification(labels.labels());
        TransformerConfig.Builder b = base.toBuilder();
        if (dropout != null) {
            b.optHiddenDropout(dropout).optAttentionDropout(dropout);
            head = head.withClassifierDropout(dropout);
        }
        return b.optHead(head).build();
    }

    /**
     * Runs the fine-tuning.
     *
     * @return losses, evaluations and the exported best model
     * @throws IOException on data, model or export I/O failures
     * @throws IllegalArgumentException for bad input (files, labels, a length past the model's positions)
     */
    public Result run() throws IOException {
        boolean lead = ctx.rank() == 0;
        ModelTokenizer tokenizer = ModelTokenizer.load(cfg.modelDir());
        TaskData data = TaskData.load(cfg, tokenizer.tokenizer());
        TransformerConfig mc = taskConfig(cfg.modelDir(), cfg.task(), data.labels(), cfg.dropout());
        if (cfg.maxLength() > mc.maxSequenceLength()) {
            throw new IllegalArgumentException("--max-length " + cfg.maxLength() + " is longer than the " + mc.maxSequenceLength()
                    + " positions of " + cfg.modelDir() + "; use --max-length " + mc.maxSequenceLength() + " or less");
        }
        int perEpoch = data.train().size() / cfg.globalBatch();
        if (perEpoch == 0) {
            throw new IllegalArgumentException("--global-batch " + cfg.globalBatch() + " is larger than the " + data.train().size()
                    + " training sentences of " + cfg.train() + "; use a smaller global batch");
        }
        int steps = cfg.maxSteps() > 0 ? Math.min(cfg.maxSteps(), cfg.epochs() * perEpoch) : cfg.epochs() * perEpoch;
        int evalEvery = cfg.evalEvery() > 0 ? cfg.evalEvery() : perEpoch;
        if (lead) {
            RunFolder.prepare(cfg.out(), false, cfg.overwrite(), true);
        }
        ctx.world().barrier();
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = TransformerModel.of(mc, ctx);
            try (DataParallelOptimizer dpo = cfg.zero().create(new DataParallelOptimizer.Spec(model, cfg.seed(), ctx,
                    cfg.optimizer().factory(cfg.weightDecay()), Bucket.DEFAULT_BYTES, manager))) {
                LoadReport[] loaded = new LoadReport[1];
                dpo.setParameters(() -> loaded[0] = HfCheckpoint.load(model, cfg.modelDir()));
                List<TrainingListener> listeners = lead ? listeners() : List.of();
                if (lead) {
                    log.printf("fine-tuning %s for %s: %d labels %s; %d training and %d dev sentences; %d steps (%d per epoch),"
                            + " warm-up %d; newly initialised: %s%n", cfg.modelDir(), cfg.task().flag(), data.labels().size(),
                            abbreviate(data.labels().labels()), data.train().size(), data.dev().size(), steps, perEpoch,
                            warmup(steps), loaded[0].initialised());
                }
                try {
                    return train(data, (ClassifierModel) model, dpo, manager, listeners, steps, evalEvery, tokenizer);
                } finally {
                    listeners.forEach(TrainingListener::onEnd);
                }
            }
        }
    }

    private Result train(TaskData data, ClassifierModel model, DataParallelOptimizer dpo, NDManager manager,
                         List<TrainingListener> listeners, int steps, int evalEvery, ModelTokenizer tokenizer) throws IOException {
        DistributedBatchSampler sampler = DistributedBatchSampler.builder().setDataset(data.train()).setGlobalBatchSize(cfg.globalBatch())
                .setMicroBatchSize(cfg.microBatch()).optDataParallelSize(ctx.dataSize()).optDataParallelRank(ctx.dataRank())
                .optShuffle(true).build();
        GlobalBatchStep passes = new GlobalBatchStep(model, dpo, compute, cfg.seed());
        TaskPredictor predictor = new TaskPredictor(model, compute, Math.max(cfg.microBatch(), 32));
        LearningRateSchedule schedule = LearningRateSchedule.builder().peak(cfg.lr()).warmupSteps(warmup(steps))
                .linearDecay(steps).build();
        listeners.forEach(l -> l.onStart(0, steps));
        List<Double> losses = new ArrayList<>();
        List<Evaluation> evaluations = new ArrayList<>();
        Evaluation best = null;
        Path exported = cfg.out().resolve(MODEL_DIR);
        for (int step = 0; step < steps; step++) {
            long t0 = System.nanoTime();
            GlobalBatchStep.Loss sl;
            long tokens = 0;
            try (NDManager scope = manager.newSubManager()) {
                DistributedBatchSampler.Position pos = sampler.position(step);
                List<TokenBatch> batches = new ArrayList<>(sampler.microBatchesPerStep());
                for (int m = 0; m < sampler.microBatchesPerStep(); m++) {
                    io.tessera.train.data.Batch b = sampler.microBatch(pos, m).trimmed();
                    tokens += (long) b.batchSize() * b.seqLength();
                    batches.add(TaskBatches.of(scope, b, cfg.task(), true));
                }
                sl = passes.run(step, batches, scope);
            }
            double lr = schedule.lr(step);
            StepResult r = dpo.step(lr, cfg.maxGradNorm());
            Devices.synchronize(manager);
            double dt = (System.nanoTime() - t0) / 1e9;
            losses.add(sl.loss());
            long globalTokens = tokens * ctx.dataSize(); // this rank's trimmed tokens × dp: the step's, as the ranks' batches are alike
            double flops = TransformerFlops.trainingStep(ModelShape.of(model.config(), cfg.globalBatch(),
                    (int) Math.max(1, globalTokens / cfg.globalBatch())));
            StepReport report = new StepReport(step + 1, steps, sl.loss(), sl.terms(), lr, r, dpo.skippedSteps(), false, dt,
                    globalTokens / dt, flops / dt / 1e12 / ctx.world().size(), Devices.residentMegabytes(), device.toString(),
                    Devices.memory(device).map(Devices.Memory::usedMegabytes).orElse(Double.NaN));
            listeners.forEach(l -> l.onStep(report));
            if ((step + 1) % evalEvery == 0 || step + 1 == steps) {
                Evaluation e = evaluate(predictor, data, dpo, manager, step + 1);
                evaluations.add(e);
                listeners.forEach(l -> l.onEvaluation(e));
                if (best == null || score(e) > score(best)) {
                    best = e;
                    dpo.withFullParameters(() -> HfCheckpoint.save(model, exported, tokenizer.exportFiles()));
                    if (!listeners.isEmpty()) {
                        log.printf("best dev %s so far (%.4f at step %d): exported to %s%n", scoreName(), score(e), e.step(), exported);
                    }
                }
            }
        }
        if (!listeners.isEmpty()) {
            log.println("best dev evaluation: step " + best.step() + ", " + best.metrics());
        }
        return new Result(losses, evaluations, best, exported, data.labels());
    }

    /**
     * Scores the model on the dev file.
     *
     * @return dev loss and the task's metrics
     */
    private Evaluation evaluate(TaskPredictor predictor, TaskData data, DataParallelOptimizer dpo, NDManager manager, int step)
            throws IOException {
        TaskPredictor.Predictions[] p = new TaskPredictor.Predictions[1];
        dpo.withFullParameters(() -> p[0] = predictor.predict(data.dev(), cfg.task(), data.outsideId(), manager, null));
        Map<String, Double> metrics = TaskMetrics.of(cfg.task(), data.labels(), data.devGold(), p[0].labels());
        return new Evaluation(step, p[0].loss(), Map.of(cfg.task() == FineTuneTask.SEQUENCE_CLASSIFICATION ? "cls" : "token",
                p[0].loss()), Map.of(), Double.NaN, metrics);
    }

    /** @return the metric that picks the kept model */
    private String scoreName() {
        return cfg.task() == FineTuneTask.SEQUENCE_CLASSIFICATION ? TaskMetrics.ACCURACY : TaskMetrics.F1;
    }

    private double score(Evaluation e) {
        return e.metrics().get(scoreName());
    }

    private int warmup(int steps) {
        return Math.min((int) Math.round(cfg.warmupRatio() * steps), Math.max(0, steps - 1));
    }

    private List<TrainingListener> listeners() throws IOException {
        List<TrainingListener> all = new ArrayList<>();
        all.add(new MetricsFile(cfg.out().resolve("metrics.jsonl")));
        all.add(new ConsoleProgress(log, true));
        all.addAll(extraListeners);
        return all;
    }

    private static String abbreviate(List<String> labels) {
        return labels.size() <= 12 ? labels.toString() : labels.subList(0, 12) + "…";
    }
}
