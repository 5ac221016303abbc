package io.tessera.examples.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.google.gson.Gson;
import io.tessera.core.Devices;
import io.tessera.core.Rng;
import io.tessera.core.Scalars;
import io.tessera.core.Torch;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.examples.data.Batch;
import io.tessera.examples.data.BertDataConfig;
import io.tessera.examples.data.BertPretrainingDataset;
import io.tessera.examples.data.Corpus;
import io.tessera.examples.data.DistributedBatchSampler;
import io.tessera.examples.data.Gpt2Dataset;
import io.tessera.examples.data.PretrainingDataset;
import io.tessera.examples.data.HfTokenizerFiles;
import io.tessera.examples.data.Vocabulary;
import io.tessera.examples.data.WikiText2;
import io.tessera.examples.data.WordPieceTokenizer;
import io.tessera.examples.data.WordPieceTrainer;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.bert.BertOutput;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.models.gpt2.Gpt2Output;
import io.tessera.optim.AdamW;
import io.tessera.optim.Lamb;
import io.tessera.optim.amp.Precision;
import io.tessera.optim.schedule.LearningRateSchedule;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.OptimizerFactory;
import io.tessera.optim.zero.StepResult;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.ReduceOp;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The pretraining loop of one rank: data, model, ZeRO/data-parallel optimizer, evaluation, metrics and
 * checkpoints. Every rank of the job runs it with its own {@link ParallelContext}.
 *
 * <pre>
 *   for each step:
 *     for each micro-batch m of this data-parallel rank:
 *       tape ─▶ model loss × (local label count / global label count) ─▶ backward
 *       (buckets reduce while backward runs; stages 0–1 only on the last micro-batch)
 *     optimizer.step(lr(step), clip) ─▶ metrics ─▶ evaluation / checkpoint when due
 * </pre>
 *
 * <p>With {@code --precision fp16} the nodes compute in fp16 from fp32 master weights, backward is
 * seeded with the optimizer's loss scale instead of 1, and a step whose gradients overflowed is skipped
 * (the scale halves); each metrics row records {@code loss_scale}, {@code skipped} and
 * {@code skipped_steps}. Held-out evaluation reads the fp32 master weights in fp32.
 *
 * <p>Losses are normalised by the label count of the <em>global</em> batch and gradients summed over
 * the data-parallel group, so every layout (TP, DP, ZeRO stage, micro-batching) computes the same
 * gradient as one process on the whole batch, up to floating-point summation order.
 *
 * <p>Thread safety: one call of {@link #run} per rank; ranks may be threads of one JVM.
 */
public final class Trainer {

    private static final Gson GSON = new com.google.gson.GsonBuilder().serializeSpecialFloatingPointValues().create();

    /** Held-out metrics. */
    public record Evaluation(int step, double loss, double mlmLoss, double mlmAccuracy, double nspLoss, double perplexity) {}

    /** What a run produced. */
    public record Result(List<Double> losses, Evaluation before, Evaluation after, Path exported, double tokensPerSecond,
                         io.tessera.optim.zero.ModelStateMemory memory, List<StepResult> steps) {}

    private final TrainConfig cfg;
    private final ParallelContext ctx;
    private final Device device;
    private final PrintStream log;

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
        this.cfg = cfg;
        this.ctx = ctx;
        this.device = java.util.Objects.requireNonNull(device, "device");
        this.log = log;
        if (ctx.tensorSize() != cfg.tensorParallel() || ctx.dataSize() != cfg.dataParallel()) {
            throw new IllegalArgumentException("rank " + ctx.rank() + ": the job has tp " + ctx.tensorSize() + " × dp " + ctx.dataSize()
                    + " but the configuration asks for tp " + cfg.tensorParallel() + " × dp " + cfg.dataParallel()
                    + "; launch as many ranks as --tp × --dp");
        }
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
        Data data = Data.load(cfg);
        if (lead) {
            data.vocabulary.save(cfg.out().resolve("vocab.txt"));
        }
        TransformerConfig modelConfig = modelConfig(data.vocabulary.size());
        if (lead && !cfg.resume()) {
            RunRecord.write(cfg, modelConfig);
        }
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = newModel(modelConfig);
            try (DataParallelOptimizer dpo = newOptimizer(model, manager);
                 Metrics metrics = new Metrics(lead ? cfg.out().resolve("metrics.jsonl") : null)) {
                CheckpointStore checkpoints = new CheckpointStore(cfg.out());
                int start = cfg.resume() ? checkpoints.loadLatest(cfg, ctx, dpo, manager) : 0;
                if (lead && cfg.resume()) {
                    log.printf("resumed from step %d of %s%n", start, checkpoints.root());
                }
                if (lead && cfg.precision() == Precision.FP16) {
                    log.printf("precision fp16: fp16 compute, fp32 master weights and optimizer states, loss scale %.0f"
                            + " (halved on overflow, doubled after %d clean steps)%n", dpo.lossScale(), cfg.lossScaleWindow());
                }
                List<StepResult> stepResults = new ArrayList<>();
                DistributedBatchSampler sampler = sampler(data.train, true);
                LearningRateSchedule schedule = LearningRateSchedule.builder().peak(cfg.lr()).warmupSteps(cfg.warmupSteps())
                        .linearDecay(cfg.steps()).build();
                Evaluation before = evaluate(model, dpo, data.heldOut, manager, start);
                report(metrics, before, lead);
                List<Double> losses = new ArrayList<>();
                double flopsPerStep = TransformerFlops.trainingStep(ModelShape.of(modelConfig, cfg.globalBatch(), cfg.seqLength()));
                long tokensPerStep = (long) cfg.globalBatch() * cfg.seqLength();
                double seconds = 0;
                ProgressBar bar = lead && cfg.progress() && System.console() != null ? new ProgressBarBuilder()
                        .setTaskName("pretrain").setInitialMax(cfg.steps()).startsFrom(start, java.time.Duration.ZERO)
                        .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                        .build() : null;
                Evaluation after = before;
                try {
                    for (int step = start; step < cfg.steps(); step++) {
                        long t0 = System.nanoTime();
                        StepLosses sl = trainStep(model, dpo, sampler, step, manager);
                        double lr = schedule.lr(step);
                        StepResult r = dpo.step(lr, cfg.maxGradNorm());
                        // On a GPU the update's kernels are still queued here; without this wait they would be
                        // timed in the next step, or in an evaluation or checkpoint, and not at all after the last step.
                        Devices.synchronize(manager);
                        double dt = (System.nanoTime() - t0) / 1e9;
                        seconds += dt;
                        losses.add(sl.loss);
                        stepResults.add(r);
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("type", "train");
                        row.put("step", step + 1);
                        row.put("loss", sl.loss);
                        if (cfg.task() == Task.BERT) {
                            row.put("mlm_loss", sl.mlm);
                            row.put("nsp_loss", sl.nsp);
                        }
                        row.put("lr", lr);
                        row.put("grad_norm", r.gradNorm());
                        row.put("skipped", r.skipped());
                        if (cfg.precision() == Precision.FP16) {
                            row.put("loss_scale", r.lossScale());
                            row.put("skipped_steps", dpo.skippedSteps());
                        }
                        row.put("step_s", dt);
                        row.put("tokens_per_s", tokensPerStep / dt);
                        row.put("tflops", flopsPerStep / dt / 1e12 / cfg.world());
                        row.put("rss_mb", residentMegabytes());
                        Optional<Devices.Memory> deviceMemory = Devices.memory(device);
                        deviceMemory.ifPresent(d -> row.put("device_mem_mb", d.usedMegabytes()));
                        metrics.write(row);
                        if (bar != null) {
                            bar.stepTo(step + 1);
                            bar.setExtraMessage(String.format(" loss %.3f | %.0f tok/s | %.3f TFLOP/s/rank | %.0f MB", sl.loss,
                                    tokensPerStep / dt, flopsPerStep / dt / 1e12 / cfg.world(), residentMegabytes()));
                        } else if (lead && ((step + 1) % 10 == 0 || step + 1 == cfg.steps() || step == start)) {
                            log.printf("step %d/%d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  %.4f TFLOP/s/rank  rss %.0f MB%s%s%n",
                                    step + 1, cfg.steps(), sl.loss, lr, r.gradNorm(), tokensPerStep / dt,
                                    flopsPerStep / dt / 1e12 / cfg.world(), residentMegabytes(),
                                    deviceMemory.map(d -> String.format("  %s %.0f MB", device, d.usedMegabytes())).orElse(""),
                                    cfg.precision() == Precision.FP16 ? String.format("  loss-scale %.0f  skipped %d%s", r.lossScale(),
                                            dpo.skippedSteps(), r.skipped() ? " (this step: overflow)" : "") : "");
                        }
                        boolean last = step + 1 == cfg.steps();
                        if (cfg.evalEvery() > 0 && (step + 1) % cfg.evalEvery() == 0 && !last) {
                            report(metrics, evaluate(model, dpo, data.heldOut, manager, step + 1), lead);
                        }
                        if (last || (cfg.checkpointEvery() > 0 && (step + 1) % cfg.checkpointEvery() == 0)) {
                            checkpoints.save(step + 1, cfg, ctx, dpo);
                        }
                    }
                } finally {
                    if (bar != null) {
                        bar.close();
                    }
                }
                if (start < cfg.steps()) {
                    after = evaluate(model, dpo, data.heldOut, manager, cfg.steps());
                    report(metrics, after, lead);
                }
                Path exported = cfg.out().resolve("model");
                dpo.withFullParameters(() -> HfCheckpoint.save(model, exported, tokenizerFiles(data.vocabulary, modelConfig)));
                if (lead) {
                    log.println("exported Hugging Face model to " + exported);
                }
                int ran = cfg.steps() - start;
                return new Result(losses, before, after, exported, ran == 0 ? 0 : ran * tokensPerStep / seconds, dpo.memory(),
                        stepResults);
            }
        }
    }

    /**
     * Consolidates a run's checkpoint (any layout) into a Hugging Face model directory, with the run's
     * tokenizer files ({@link #tokenizerFiles}). Every rank of the saved layout calls it with the
     * configuration from {@link RunRecord#read}.
     *
     * @param checkpoint the {@code step-*} folder, or null for the latest
     * @param target the model directory to write
     * @throws IOException if reading or writing fails
     */
    public void export(Path checkpoint, Path target) throws IOException {
        TransformerConfig modelConfig = cfg.model();
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = newModel(modelConfig);
            try (DataParallelOptimizer dpo = newOptimizer(model, manager)) {
                int step = new CheckpointStore(cfg.out()).load(checkpoint, cfg, ctx, dpo, manager);
                Vocabulary vocabulary = Vocabulary.load(cfg.out().resolve("vocab.txt"));
                dpo.withFullParameters(() -> HfCheckpoint.save(model, target, tokenizerFiles(vocabulary, modelConfig)));
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
        return HfTokenizerFiles.of(vocabulary, Data.LOWER_CASE, modelConfig.maxPositions(),
                modelConfig.architecture() == io.tessera.models.config.Architecture.GPT2);
    }

    private record StepLosses(double loss, double mlm, double nsp) {}

    private StepLosses trainStep(TransformerModel model, DataParallelOptimizer dpo, DistributedBatchSampler sampler, int step,
                                 NDManager manager) {
        DistributedBatchSampler.Position pos = sampler.position(step);
        int micro = sampler.microBatchesPerStep();
        List<Batch> batches = new ArrayList<>(micro);
        double[] counts = new double[2];
        for (int m = 0; m < micro; m++) {
            Batch b = sampler.microBatch(pos, m);
            batches.add(b);
            counts[0] += labelCount(b);
            counts[1] += b.batchSize();
        }
        double[] global = allReduceSum(counts, manager);
        double[] sums = new double[3];
        for (int m = 0; m < micro; m++) {
            Batch b = batches.get(m);
            try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, Rng.mix(cfg.seed(), step, ctx.dataRank(), m), true)) {
                TokenBatch tb = tokens(scope, b);
                dpo.beginBackward(tape, m == micro - 1);
                Var loss = scaledLoss(model, tape, tb, labelCount(b) / Math.max(1, global[0]), b.batchSize() / global[1], sums);
                // fp16: the cotangent is the loss scale S (fp32, like the loss), so the gradients are those of S·loss.
                tape.backward(loss, scope.full(loss.value().getShape(), (float) dpo.lossScale(), loss.value().getDataType()));
                dpo.endBackward();
            }
        }
        double[] total = allReduceSum(sums, manager);
        return new StepLosses(total[0], total[1], total[2]);
    }

    /** Σ over this micro-batch of the per-label losses divided by the global label count (and NSP likewise). */
    private Var scaledLoss(TransformerModel model, Tape tape, TokenBatch batch, double labelShare, double sequenceShare,
                           double[] sums) {
        if (model instanceof BertForPreTraining bert) {
            BertOutput out = bert.forward(tape, batch);
            boolean anyMasked = labelShare > 0;
            Var loss = tape.apply1("loss.global-normalised", false, (c, in) -> {
                NDArray nsp = in.get(in.size() - 1).mul(Scalars.of(in.get(0), sequenceShare));
                return new NDList(anyMasked ? in.get(0).mul(Scalars.of(in.get(0), labelShare)).add(nsp) : nsp);
            }, anyMasked ? new Var[] {out.mlmLoss(), out.nspLoss()} : new Var[] {out.nspLoss()});
            double mlm = anyMasked ? out.mlmLoss().value().getFloat() * labelShare : 0;
            double nsp = out.nspLoss().value().getFloat() * sequenceShare;
            sums[0] += mlm + nsp;
            sums[1] += mlm;
            sums[2] += nsp;
            return loss;
        }
        Gpt2Output out = ((Gpt2LmHeadModel) model).forward(tape, batch);
        Var loss = tape.apply1("loss.global-normalised", false, (c, in) -> new NDList(in.get(0).mul(Scalars.of(in.get(0), labelShare))), out.loss());
        sums[0] += out.loss().value().getFloat() * labelShare;
        return loss;
    }

    /** Positions that carry a label: masked tokens for BERT, next-token targets for GPT-2 (labels shifted by one). */
    private double labelCount(Batch b) {
        int[] labels = b.labels();
        int t = b.seqLength();
        int n = 0;
        for (int i = 0; i < labels.length; i++) {
            if (cfg.task() == Task.GPT2 && i % t == 0) {
                continue;
            }
            if (labels[i] != Batch.IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    private double[] allReduceSum(double[] values, NDManager manager) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        try (NDArray a = manager.create(f)) {
            ctx.data().allReduce(a, ReduceOp.SUM);
            float[] r = a.toFloatArray();
            double[] out = new double[r.length];
            for (int i = 0; i < r.length; i++) {
                out[i] = r[i];
            }
            return out;
        }
    }

    private TokenBatch tokens(NDManager m, Batch b) {
        boolean bert = cfg.task() == Task.BERT;
        return TokenBatch.of(m, b.batchSize(), b.seqLength(), b.inputIds(), bert ? b.tokenTypeIds() : null, b.attentionMask(),
                b.labels(), bert ? b.nextSentenceLabels() : null);
    }

    /**
     * Held-out loss over the first {@code evalBatches} global batches of {@code test.txt} (fixed masks),
     * with accuracy of the masked-token predictions for BERT and perplexity for GPT-2.
     */
    private Evaluation evaluate(TransformerModel model, DataParallelOptimizer dpo, PretrainingDataset heldOut, NDManager manager,
                                int step) throws IOException {
        DistributedBatchSampler sampler = sampler(heldOut, false);
        int batches = Math.min(cfg.evalBatches(), sampler.stepsPerEpoch());
        double[] sums = new double[5]; // mlm loss sum, mlm count, mlm correct, nsp loss sum, sequences
        dpo.withFullParameters(() -> {
            for (int s = 0; s < batches; s++) {
                for (int m = 0; m < sampler.microBatchesPerStep(); m++) {
                    Batch b = sampler.microBatch(0, s, m);
                    try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, 0, false, false)) {
                        TokenBatch tb = tokens(scope, b);
                        double n = labelCount(b);
                        if (model instanceof BertForPreTraining bert) {
                            BertOutput out = bert.forward(tape, tb);
                            if (n > 0) {
                                sums[0] += out.mlmLoss().value().getFloat() * n;
                                sums[2] += correctPredictions(model, tape, out.mlmLogits(), tb.labels());
                            }
                            sums[3] += out.nspLoss().value().getFloat() * b.batchSize();
                        } else {
                            Gpt2Output out = ((Gpt2LmHeadModel) model).forward(tape, tb);
                            sums[0] += out.loss().value().getFloat() * n;
                        }
                        sums[1] += n;
                        sums[4] += b.batchSize();
                    }
                }
            }
        });
        double[] g = allReduceSum(sums, manager);
        double mlm = g[0] / Math.max(1, g[1]);
        double nsp = g[3] / Math.max(1, g[4]);
        return cfg.task() == Task.BERT ? new Evaluation(step, mlm + nsp, mlm, g[2] / Math.max(1, g[1]), nsp, Double.NaN)
                : new Evaluation(step, mlm, Double.NaN, Double.NaN, Double.NaN, Math.exp(mlm));
    }

    private double correctPredictions(TransformerModel model, Tape tape, Var localLogits, NDArray labels) {
        Var full = model.gatherVocabLogits(tape, "eval.logits", localLogits);
        NDArray logits = full.value().get(new NDIndex("..., :" + model.config().vocabSize()));
        NDArray predicted = logits.argMax(-1).toType(DataType.INT64, false);
        NDArray valid = labels.neq(-100);
        return predicted.eq(labels).logicalAnd(valid).toType(DataType.INT64, false).sum().getLong();
    }

    private void report(Metrics metrics, Evaluation e, boolean lead) throws IOException {
        if (!lead) {
            return;
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("type", "eval");
        row.put("step", e.step());
        row.put("loss", e.loss());
        if (cfg.task() == Task.BERT) {
            row.put("mlm_loss", e.mlmLoss());
            row.put("mlm_accuracy", e.mlmAccuracy());
            row.put("nsp_loss", e.nspLoss());
            log.printf("held-out at step %d: MLM loss %.4f, MLM accuracy %.4f, NSP loss %.4f%n", e.step(), e.mlmLoss(), e.mlmAccuracy(),
                    e.nspLoss());
        } else {
            row.put("perplexity", e.perplexity());
            log.printf("held-out at step %d: loss %.4f, perplexity %.2f%n", e.step(), e.loss(), e.perplexity());
        }
        metrics.write(row);
    }

    private DistributedBatchSampler sampler(PretrainingDataset dataset, boolean shuffle) {
        if (dataset.size() < cfg.globalBatch()) {
            throw new IllegalArgumentException("--global-batch " + cfg.globalBatch() + " is larger than the " + dataset.size()
                    + " examples built from the corpus at --seq-length " + cfg.seqLength() + "; use a smaller global batch");
        }
        return DistributedBatchSampler.builder().setDataset(dataset).setGlobalBatchSize(cfg.globalBatch())
                .setMicroBatchSize(cfg.microBatch()).optDataParallelSize(ctx.dataSize()).optDataParallelRank(ctx.dataRank())
                .optShuffle(shuffle).build();
    }

    private TransformerConfig modelConfig(int vocabSize) {
        TransformerConfig.Builder b = cfg.model().toBuilder().setVocabSize(vocabSize);
        if (cfg.dropout() != null) {
            b.optHiddenDropout(cfg.dropout()).optAttentionDropout(cfg.dropout());
        }
        return b.build();
    }

    private TransformerModel newModel(TransformerConfig modelConfig) {
        return TransformerModel.of(modelConfig, ctx);
    }

    /** The model's parameters and optimizer state, laid out by the run's ZeRO stage (owns the parameter buffer). */
    private DataParallelOptimizer newOptimizer(TransformerModel model, NDManager manager) {
        return DataParallelOptimizer.create(cfg.zero(),
                new DataParallelOptimizer.Spec(model, cfg.seed(), ctx, optimizerFactory(), cfg.bucketBytes(), manager)
                        .withPrecision(cfg.precision(), cfg.lossScaling()));
    }

    private OptimizerFactory optimizerFactory() {
        double wd = cfg.weightDecay();
        if (cfg.optimizer().equals("lamb")) {
            return (range, norms, m) -> new Lamb(Lamb.Config.builder().weightDecay(wd).build(), range, m, norms);
        }
        return (range, norms, m) -> new AdamW(AdamW.Config.builder().weightDecay(wd).build(), range, m);
    }

    static double residentMegabytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** The corpus, vocabulary and datasets of a run; built identically on every rank from the seed. */
    private static final class Data {
        /** Runs tokenize uncased: lower-cased, accents stripped. */
        static final boolean LOWER_CASE = true;

        final Vocabulary vocabulary;
        final PretrainingDataset train;
        final PretrainingDataset heldOut;

        private Data(Vocabulary vocabulary, PretrainingDataset train, PretrainingDataset heldOut) {
            this.vocabulary = vocabulary;
            this.train = train;
            this.heldOut = heldOut;
        }

        static Data load(TrainConfig cfg) throws IOException {
            Corpus train = Corpus.loadWikiText(WikiText2.trainFile(cfg.dataDir()));
            Corpus heldOut = Corpus.loadWikiText(WikiText2.heldOutFile(cfg.dataDir()));
            Path saved = cfg.out().resolve("vocab.txt");
            Vocabulary vocab = cfg.vocabFile() != null ? Vocabulary.load(cfg.vocabFile())
                    : cfg.resume() && Files.isRegularFile(saved) ? Vocabulary.load(saved)
                    : WordPieceTrainer.builder().setVocabSize(cfg.vocabSize()).build().train(train);
            WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, LOWER_CASE);
            if (cfg.task() == Task.BERT) {
                BertDataConfig dc = BertDataConfig.builder().optMaxSeqLength(cfg.seqLength()).optSeed(cfg.seed()).build();
                return new Data(vocab, BertPretrainingDataset.create(train, tokenizer, dc),
                        BertPretrainingDataset.create(heldOut, tokenizer, dc));
            }
            return new Data(vocab, Gpt2Dataset.create(train, tokenizer, cfg.seqLength(), cfg.seed()),
                    Gpt2Dataset.create(heldOut, tokenizer, cfg.seqLength(), cfg.seed()));
        }
    }

    /** The JSON-lines metrics file of rank 0. */
    private static final class Metrics implements AutoCloseable {
        private final BufferedWriter out;

        Metrics(Path file) throws IOException {
            this.out = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }

        void write(Map<String, Object> row) throws IOException {
            if (out != null) {
                out.write(GSON.toJson(row));
                out.newLine();
                out.flush();
            }
        }

        @Override
        public void close() throws IOException {
            if (out != null) {
                out.close();
            }
        }
    }
}
