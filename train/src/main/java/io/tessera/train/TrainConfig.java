package io.tessera.train;

import io.tessera.core.Devices;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.OptimizerKind;
import io.tessera.optim.zero.ZeroStage;
import io.tessera.optim.amp.DynamicLossScaler;
import io.tessera.optim.amp.Precision;
import io.tessera.parallel.pipeline.PipelineSchedule;
import io.tessera.parallel.pipeline.ScheduleKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything one pretraining run needs: model, data, schedule and parallel layout. Validated in
 * {@link Builder#build()}, before any memory is allocated or any rank is started; every message names
 * the flag, the value, the rule and a fix.
 *
 * <p>Thread safety: immutable.
 *
 * @param task BERT or GPT-2
 * @param model the model configuration (vocabulary size is replaced by the built vocabulary's)
 * @param modelName preset name or config path, for logs
 * @param dataDir folder holding {@code valid.txt} (training) and {@code test.txt} (held out)
 * @param vocabSize WordPiece vocabulary size to build
 * @param seqLength tokens per example
 * @param seed seed of initialisation, data order, masking and dropout
 * @param steps optimizer steps to run (the schedule's total)
 * @param globalBatch examples per step over all data-parallel ranks
 * @param microBatch examples per forward/backward on one rank
 * @param tensorParallel tensor-parallel degree
 * @param dataParallel data-parallel degree (world / tensorParallel)
 * @param zero the ZeRO stage
 * @param optimizer AdamW or LAMB
 * @param lr peak learning rate
 * @param warmupSteps linear warm-up steps
 * @param weightDecay decoupled weight decay
 * @param maxGradNorm clipping threshold (≤ 0: off)
 * @param dropout dropout override for hidden and attention dropout, or null to keep the model's
 * @param evalEvery evaluate every this many steps (0: only before and after)
 * @param evalBatches held-out batches (of globalBatch examples) per evaluation
 * @param checkpointEvery save a checkpoint every this many steps (0: only at the end)
 * @param out output folder
 * @param resume continue from the latest checkpoint in {@code out}
 * @param overwrite replace an existing {@code out}
 * @param bucketBytes data-parallel gradient bucket size
 * @param progress show a progress bar on rank 0
 * @param vocabFile an existing {@code vocab.txt} to use instead of building one, or null
 * @param precision compute precision: fp32, or fp16 with fp32 master weights and dynamic loss scaling
 *     (bf16 is refused by {@link Builder#build()})
 * @param initialLossScale the fp16 loss scale of the first step (DeepSpeed: 2^16)
 * @param lossScaleWindow clean fp16 steps before the loss scale doubles (DeepSpeed: 1000)
 * @param device where each rank computes ({@code --device}; default {@link Devices#AUTO}: cuda:LOCAL_RANK where
 *     the loaded libtorch can use a GPU, else the CPU); resolved per rank by {@link Devices#resolve(int, int)}
 * @param cased keep case and accents ({@code --cased}: the vocabulary is learnt and the text tokenised cased);
 *     false: lower-cased and accent-stripped, as BERT-uncased
 * @param pipelineParallel pipeline-parallel degree ({@code --pp}; the world is tp × pp × dp)
 * @param virtualStages model chunks per pipeline rank ({@code --virtual-stages}; interleaved schedule only)
 * @param schedule the pipeline schedule ({@code --schedule}; used when {@code pipelineParallel > 1})
 * @param sequenceParallel split the non-matmul regions along the sequence over the tensor-parallel group
 *     ({@code --sequence-parallel})
 */
public record TrainConfig(Task task, TransformerConfig model, String modelName, Path dataDir, int vocabSize, int seqLength,
                          long seed, int steps, int globalBatch, int microBatch, int tensorParallel, int dataParallel,
                          ZeroStage zero, OptimizerKind optimizer, double lr, int warmupSteps, double weightDecay, double maxGradNorm,
                          Double dropout, int evalEvery, int evalBatches, int checkpointEvery, Path out, boolean resume,
                          boolean overwrite, long bucketBytes, boolean progress, Path vocabFile, Precision precision,
                          double initialLossScale, long lossScaleWindow, Devices device, boolean cased, int pipelineParallel,
                          int virtualStages, ScheduleKind schedule, boolean sequenceParallel) {

    /** @return world size, tp × pp × dp */
    public int world() {
        return tensorParallel * pipelineParallel * dataParallel;
    }

    /** @return micro-batches per step on each rank */
    public int microBatchesPerStep() {
        return globalBatch / (microBatch * dataParallel);
    }

    /**
     * @return the dynamic loss-scaling rule of an fp16 run: {@link #initialLossScale()}, a window of
     *     {@link #lossScaleWindow()}, growth ×2, backoff ×½, minimum 1
     */
    public DynamicLossScaler.Config lossScaling() {
        return DynamicLossScaler.Config.builder().initialScale(initialLossScale).growthInterval(lossScaleWindow).build();
    }

    /** @return a builder with the defaults of the small example run */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.task = task;
        b.model = model;
        b.modelName = modelName;
        b.dataDir = dataDir;
        b.vocabSize = vocabSize;
        b.seqLength = seqLength;
        b.seed = seed;
        b.steps = steps;
        b.globalBatch = globalBatch;
        b.microBatch = microBatch;
        b.tensorParallel = tensorParallel;
        b.dataParallel = dataParallel;
        b.zero = zero.number();
        b.optimizer = optimizer.optionName();
        b.lr = lr;
        b.warmupSteps = warmupSteps;
        b.weightDecay = weightDecay;
        b.maxGradNorm = maxGradNorm;
        b.dropout = dropout;
        b.evalEvery = evalEvery;
        b.evalBatches = evalBatches;
        b.checkpointEvery = checkpointEvery;
        b.out = out;
        b.resume = resume;
        b.overwrite = overwrite;
        b.bucketBytes = bucketBytes;
        b.progress = progress;
        b.vocabFile = vocabFile;
        b.precision = precision;
        b.initialLossScale = initialLossScale;
        b.lossScaleWindow = lossScaleWindow;
        b.device = device;
        b.cased = cased;
        b.pipelineParallel = pipelineParallel;
        b.virtualStages = virtualStages;
        b.schedule = schedule;
        b.sequenceParallel = sequenceParallel;
        return b;
    }

    /** Builds a {@link TrainConfig}. Thread safety: not thread-safe. */
    public static final class Builder {
        private Task task = Task.BERT;
        private TransformerConfig model;
        private String modelName = "custom";
        private Path dataDir;
        private int vocabSize = 4096;
        private boolean cased;
        private int seqLength = 64;
        private long seed = 1234;
        private int steps = 100;
        private int globalBatch = 16;
        private int microBatch = 8;
        private int tensorParallel = 1;
        private int dataParallel = 1;
        private int zero;
        private String optimizer = "adamw";
        private double lr = 1e-3;
        private int warmupSteps = 10;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;
        private Double dropout;
        private int evalEvery;
        private int evalBatches = 4;
        private int checkpointEvery;
        private Path out;
        private boolean resume;
        private boolean overwrite;
        private long bucketBytes = io.tessera.optim.zero.Bucket.DEFAULT_BYTES;
        private boolean progress = true;
        private Path vocabFile;
        private Precision precision = Precision.FP32;
        private Devices device = Devices.AUTO;
        private double initialLossScale = 65536;
        private long lossScaleWindow = 1000;
        private int pipelineParallel = 1;
        private int virtualStages = 1;
        private ScheduleKind schedule = ScheduleKind.ONE_F_ONE_B;
        private boolean sequenceParallel;

        private Builder() {}

        /** @param v pipeline-parallel degree ({@code --pp}) @return this */
        public Builder optPipelineParallel(int v) { pipelineParallel = v; return this; }
        /** @param v model chunks per pipeline rank ({@code --virtual-stages}) @return this */
        public Builder optVirtualStages(int v) { virtualStages = v; return this; }
        /** @param v the pipeline schedule ({@code --schedule}) @return this */
        public Builder optSchedule(ScheduleKind v) { schedule = Objects.requireNonNull(v, "schedule"); return this; }
        /** @param v sequence parallelism ({@code --sequence-parallel}) @return this */
        public Builder optSequenceParallel(boolean v) { sequenceParallel = v; return this; }

        public Builder optTask(Task v) { task = v; return this; }
        public Builder setModel(TransformerConfig v, String name) { model = v; modelName = name; return this; }
        public Builder setDataDir(Path v) { dataDir = v; return this; }
        public Builder optVocabSize(int v) { vocabSize = v; return this; }
        public Builder optCased(boolean v) { cased = v; return this; }
        public Builder optSeqLength(int v) { seqLength = v; return this; }
        public Builder optSeed(long v) { seed = v; return this; }
        public Builder optSteps(int v) { steps = v; return this; }
        public Builder optGlobalBatch(int v) { globalBatch = v; return this; }
        public Builder optMicroBatch(int v) { microBatch = v; return this; }
        public Builder optTensorParallel(int v) { tensorParallel = v; return this; }
        public Builder optDataParallel(int v) { dataParallel = v; return this; }
        public Builder optZero(int v) { zero = v; return this; }
        public Builder optOptimizer(String v) { optimizer = v; return this; }
        public Builder optOptimizer(OptimizerKind v) { optimizer = v.optionName(); return this; }
        public Builder optLr(double v) { lr = v; return this; }
        public Builder optWarmupSteps(int v) { warmupSteps = v; return this; }
        public Builder optWeightDecay(double v) { weightDecay = v; return this; }
        public Builder optMaxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder optDropout(Double v) { dropout = v; return this; }
        public Builder optEvalEvery(int v) { evalEvery = v; return this; }
        public Builder optEvalBatches(int v) { evalBatches = v; return this; }
        public Builder optCheckpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder setOut(Path v) { out = v; return this; }
        public Builder optResume(boolean v) { resume = v; return this; }
        public Builder optOverwrite(boolean v) { overwrite = v; return this; }
        public Builder optBucketBytes(long v) { bucketBytes = v; return this; }
        public Builder optProgress(boolean v) { progress = v; return this; }
        public Builder optVocabFile(Path v) { vocabFile = v; return this; }
        public Builder optPrecision(Precision v) { precision = Objects.requireNonNull(v, "precision"); return this; }

        /** @param v where each rank computes ({@code auto}, {@code cpu}, {@code cuda}, {@code cuda:N}) @return this */
        public Builder optDevice(Devices v) { device = Objects.requireNonNull(v, "device"); return this; }
        public Builder optInitialLossScale(double v) { initialLossScale = v; return this; }
        public Builder optLossScaleWindow(long v) { lossScaleWindow = v; return this; }

        /**
         * @return the configuration
         * @throws IllegalArgumentException listing every problem, each with a fix
         */
        public TrainConfig build() {
            List<String> errors = new ArrayList<>();
            if (model == null) {
                errors.add("--model: no model given; pass a preset name (e.g. bert-tiny) or a config.json path");
            }
            if (dataDir == null) {
                errors.add("--data: no data folder given; pass the folder holding valid.txt and test.txt (data/wikitext-2)");
            }
            if (out == null) {
                errors.add("--out: no output folder given");
            }
            positive(errors, "--steps", steps);
            positive(errors, "--global-batch", globalBatch);
            positive(errors, "--micro-batch", microBatch);
            positive(errors, "--tp", tensorParallel);
            positive(errors, "--dp", dataParallel);
            positive(errors, "--seq-length", seqLength);
            positive(errors, "--vocab-size", vocabSize);
            positive(errors, "--eval-batches", evalBatches);
            if (vocabSize < 100) {
                errors.add("--vocab-size " + vocabSize + ": too small for the alphabet and special tokens; use at least 100");
            }
            if (zero < 0 || zero > 3) {
                errors.add("--zero " + zero + ": ZeRO stages are 0, 1, 2 and 3");
            }
            OptimizerKind optimizerKind = null;
            try {
                optimizerKind = OptimizerKind.parse(optimizer);
            } catch (IllegalArgumentException e) {
                errors.add("--optimizer " + optimizer + ": choose adamw or lamb");
            }
            if (!(lr > 0) || !Double.isFinite(lr)) {
                errors.add("--lr " + lr + ": must be a positive number");
            }
            if (warmupSteps < 0 || evalEvery < 0 || checkpointEvery < 0) {
                errors.add("--warmup, --eval-every and --checkpoint-every must be >= 0 (got " + warmupSteps + ", " + evalEvery
                        + ", " + checkpointEvery + ")");
            }
            if (steps > 0 && warmupSteps >= steps) {
                errors.add("--warmup " + warmupSteps + " must be smaller than --steps " + steps + " (warm-up, then linear decay to"
                        + " zero over the remaining steps); shorten the warm-up or train longer");
            }
            if (dropout != null && !(dropout >= 0 && dropout < 1)) {
                errors.add("--dropout " + dropout + ": must be in [0, 1)");
            }
            if (precision == Precision.BF16) {
                errors.add(Precision.unsupportedMessage());
            }
            if (!(initialLossScale >= 1 && Double.isFinite(initialLossScale))) {
                errors.add("--initial-loss-scale " + initialLossScale + ": must be a finite number >= 1 (the minimum scale);"
                        + " DeepSpeed starts at 65536 (2^16)");
            }
            if (lossScaleWindow < 1) {
                errors.add("--loss-scale-window " + lossScaleWindow + ": must be at least 1; DeepSpeed doubles the scale after"
                        + " 1000 clean steps");
            }
            if (resume && overwrite) {
                errors.add("--resume and --overwrite together: choose one (resume continues, overwrite starts afresh)");
            }
            if (globalBatch > 0 && microBatch > 0 && dataParallel > 0 && globalBatch % ((long) microBatch * dataParallel) != 0) {
                errors.add("--global-batch " + globalBatch + " is not divisible by --micro-batch " + microBatch + " × data-parallel "
                        + dataParallel + " = " + ((long) microBatch * dataParallel) + "; choose a global batch that is a multiple of "
                        + ((long) microBatch * dataParallel));
            }
            if (model != null) {
                if (Task.of(model.architecture()) != task) {
                    errors.add("--model " + modelName + " is a " + model.architecture() + " model, trained on task "
                            + Task.of(model.architecture()) + ", but the command trains " + task + "; use pretrain for BERT,"
                            + " RoBERTa, DistilBERT and ALBERT models and pretrain-gpt2 for GPT-2 models");
                }
                if (seqLength > model.maxSequenceLength()) {
                    errors.add("--seq-length " + seqLength + " exceeds the model's longest sequence " + model.maxSequenceLength()
                            + (model.maxSequenceLength() == model.maxPositions() ? " (max_position_embeddings)"
                            : " (max_position_embeddings " + model.maxPositions() + " less pad_token_id + 1)"));
                }
                if (tensorParallel > 0) {
                    try {
                        model.validateFor(tensorParallel);
                    } catch (IllegalArgumentException e) {
                        errors.add("--tp " + tensorParallel + ": " + e.getMessage());
                    }
                }
            }
            checkPipeline(errors);
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException(String.join("\n", errors));
            }
            return new TrainConfig(task, model, modelName, dataDir, vocabSize, seqLength, seed, steps, globalBatch, microBatch,
                    tensorParallel, dataParallel, ZeroStage.of(zero), optimizerKind, lr, warmupSteps, weightDecay, maxGradNorm, dropout, evalEvery,
                    evalBatches, checkpointEvery, Objects.requireNonNull(out), resume, overwrite, bucketBytes, progress, vocabFile,
                    precision, initialLossScale, lossScaleWindow, device, cased, pipelineParallel, virtualStages, schedule,
                    sequenceParallel);
        }

        /** The pipeline and sequence-parallel rules: every one is checked before any rank allocates memory. */
        private void checkPipeline(List<String> errors) {
            positive(errors, "--pp", pipelineParallel);
            positive(errors, "--virtual-stages", virtualStages);
            boolean staged = pipelineParallel > 1 || sequenceParallel;
            if (staged && model != null && model.architecture() != Architecture.BERT && model.architecture() != Architecture.GPT2) {
                errors.add((pipelineParallel > 1 ? "--pp " + pipelineParallel : "--sequence-parallel") + ": " + model.architecture()
                        + " models do not run in pipeline stages or with sequence parallelism yet (BERT and GPT-2 do); use --pp 1"
                        + " without --sequence-parallel");
            }
            if (sequenceParallel && tensorParallel == 1) {
                errors.add("--sequence-parallel splits the sequence over the tensor-parallel group, but --tp is 1; use --tp 2 or"
                        + " more, or drop --sequence-parallel");
            }
            if (sequenceParallel && tensorParallel > 1 && seqLength % tensorParallel != 0) {
                errors.add("--sequence-parallel: --seq-length " + seqLength + " is not divisible by --tp " + tensorParallel
                        + "; choose a multiple of " + tensorParallel);
            }
            if (pipelineParallel <= 1) {
                if (virtualStages > 1) {
                    errors.add("--virtual-stages " + virtualStages + " needs pipeline parallelism; add --pp 2 or more");
                }
                return;
            }
            if (zero == 3) {
                errors.add("--zero 3 with --pp " + pipelineParallel + ": ZeRO-3 gathers every parameter in every micro-batch's"
                        + " passes, which the pipeline's many micro-batches multiply (DeepSpeed refuses it too); use --zero 0, 1"
                        + " or 2 with --pp");
            }
            if (precision == Precision.FP16) {
                errors.add("--precision fp16 with --pp " + pipelineParallel + " is not supported yet (the stages exchange fp32"
                        + " hidden states); use fp32 with --pp, or --pp 1 with fp16");
            }
            if (model != null && virtualStages > 0 && model.numLayers() % (pipelineParallel * virtualStages) != 0) {
                errors.add("--pp " + pipelineParallel + (virtualStages > 1 ? " × --virtual-stages " + virtualStages : "") + ": the model's "
                        + model.numLayers() + " layers do not split into " + (pipelineParallel * virtualStages)
                        + " equal stages; choose degrees whose product divides " + model.numLayers());
            }
            if (virtualStages > 1 && schedule != ScheduleKind.INTERLEAVED) {
                errors.add("--virtual-stages " + virtualStages + " needs --schedule interleaved (got " + schedule.flag() + ")");
            } else if (globalBatch > 0 && microBatch > 0 && dataParallel > 0 && virtualStages > 0
                    && globalBatch % ((long) microBatch * dataParallel) == 0) {
                try {
                    PipelineSchedule.of(schedule, pipelineParallel, globalBatch / (microBatch * dataParallel), virtualStages);
                } catch (IllegalArgumentException e) {
                    errors.add(e.getMessage());
                }
            }
        }

        private static void positive(List<String> errors, String flag, long v) {
            if (v < 1) {
                errors.add(flag + " " + v + ": must be at least 1");
            }
        }
    }
}
