package io.tessera.train.finetune;

import io.tessera.optim.OptimizerKind;
import io.tessera.optim.zero.ZeroStage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One fine-tuning run: the pretrained model directory, the task and its files, the schedule and the
 * parallel layout. Defaults follow the BERT paper's fine-tuning recipe for base-size models: AdamW,
 * peak learning rate 3e-5 with linear warm-up over the first 10% of steps and linear decay to 0,
 * weight decay 0.01 (not on biases and LayerNorm), 3 epochs, batch 32, gradient clipping at 1.
 * Validated in {@link Builder#build()}, which reports every problem at once, each naming the flag,
 * the value, the rule and a fix.
 *
 * <p>Thread safety: immutable.
 *
 * @param modelDir a Hugging Face directory (config.json, model.safetensors, tokenizer files)
 * @param task the task
 * @param train the training file
 * @param dev the development file (evaluated during training; the best model is kept)
 * @param out the output folder
 * @param epochs passes over the training file
 * @param maxSteps stop after this many steps (0: all epochs)
 * @param lr peak learning rate
 * @param warmupRatio fraction of the steps spent warming up
 * @param weightDecay decoupled weight decay
 * @param maxGradNorm clipping threshold (≤ 0: off)
 * @param globalBatch sentences per step over all data-parallel ranks
 * @param microBatch sentences per forward/backward on one rank
 * @param maxLength the longest sequence, special tokens included
 * @param seed seed of the head's initialisation, data order and dropout
 * @param tensorParallel tensor-parallel degree
 * @param dataParallel data-parallel degree
 * @param zero the ZeRO stage
 * @param optimizer AdamW or LAMB
 * @param evalEvery evaluate on dev every this many steps (0: at the end of each epoch)
 * @param dropout dropout override (hidden, attention, classifier), or null to keep the model's
 * @param overwrite replace an existing {@code out}
 */
public record FineTuneConfig(Path modelDir, FineTuneTask task, Path train, Path dev, Path out, int epochs, int maxSteps, double lr,
                             double warmupRatio, double weightDecay, double maxGradNorm, int globalBatch, int microBatch,
                             int maxLength, long seed, int tensorParallel, int dataParallel, ZeroStage zero, OptimizerKind optimizer,
                             int evalEvery, Double dropout, boolean overwrite) {

    /** @return a builder with the defaults above */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link FineTuneConfig}; {@code set*} are required, {@code opt*} optional. */
    public static final class Builder {
        private Path modelDir;
        private FineTuneTask task;
        private Path train;
        private Path dev;
        private Path out;
        private int epochs = 3;
        private int maxSteps;
        private double lr = 3e-5;
        private double warmupRatio = 0.1;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;
        private int globalBatch = 32;
        private int microBatch = 32;
        private int maxLength = 128;
        private long seed = 42;
        private int tensorParallel = 1;
        private int dataParallel = 1;
        private int zero;
        private OptimizerKind optimizer = OptimizerKind.ADAMW;
        private int evalEvery;
        private Double dropout;
        private boolean overwrite;

        private Builder() {
        }

        public Builder setModelDir(Path v) { modelDir = v; return this; }
        public Builder setTask(FineTuneTask v) { task = v; return this; }
        public Builder setTrain(Path v) { train = v; return this; }
        public Builder setDev(Path v) { dev = v; return this; }
        public Builder setOut(Path v) { out = v; return this; }
        public Builder optEpochs(int v) { epochs = v; return this; }
        public Builder optMaxSteps(int v) { maxSteps = v; return this; }
        public Builder optLr(double v) { lr = v; return this; }
        public Builder optWarmupRatio(double v) { warmupRatio = v; return this; }
        public Builder optWeightDecay(double v) { weightDecay = v; return this; }
        public Builder optMaxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder optGlobalBatch(int v) { globalBatch = v; return this; }
        public Builder optMicroBatch(int v) { microBatch = v; return this; }
        public Builder optMaxLength(int v) { maxLength = v; return this; }
        public Builder optSeed(long v) { seed = v; return this; }
        public Builder optTensorParallel(int v) { tensorParallel = v; return this; }
        public Builder optDataParallel(int v) { dataParallel = v; return this; }
        public Builder optZero(int v) { zero = v; return this; }
        public Builder optOptimizer(OptimizerKind v) { optimizer = Objects.requireNonNull(v, "optimizer"); return this; }
        public Builder optEvalEvery(int v) { evalEvery = v; return this; }
        public Builder optDropout(Double v) { dropout = v; return this; }
        public Builder optOverwrite(boolean v) { overwrite = v; return this; }

        /**
         * @return the configuration
         * @throws IllegalArgumentException listing every problem, each with a fix
         */
        public FineTuneConfig build() {
            List<String> errors = new ArrayList<>();
            if (modelDir == null) {
                errors.add("--model-dir: no model given; pass a Hugging Face directory, e.g. the export of pretrain (runs/bert/model)");
            } else if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
                errors.add("--model-dir " + modelDir + " has no config.json; pass a Hugging Face model directory");
            }
            if (task == null) {
                errors.add("--task: choose sequence-classification or token-classification");
            }
            file(errors, "--train", train);
            file(errors, "--dev", dev);
            if (out == null) {
                errors.add("--out: no output folder given");
            }
            positive(errors, "--epochs", epochs);
            positive(errors, "--global-batch", globalBatch);
            positive(errors, "--micro-batch", microBatch);
            positive(errors, "--tp", tensorParallel);
            positive(errors, "--dp", dataParallel);
            positive(errors, "--max-length", maxLength);
            if (maxSteps < 0 || evalEvery < 0) {
                errors.add("--max-steps and --eval-every must be >= 0 (got " + maxSteps + ", " + evalEvery + ")");
            }
            if (!(lr > 0) || !Double.isFinite(lr)) {
                errors.add("--lr " + lr + ": must be a positive number; 2e-5 to 5e-5 suits base-size models");
            }
            if (!(warmupRatio >= 0 && warmupRatio < 1)) {
                errors.add("--warmup " + warmupRatio + ": the warm-up fraction of the steps must be in [0, 1)");
            }
            if (!(weightDecay >= 0)) {
                errors.add("--weight-decay " + weightDecay + ": must be >= 0");
            }
            if (zero < 0 || zero > 3) {
                errors.add("--zero " + zero + ": ZeRO stages are 0, 1, 2 and 3");
            }
            if (dropout != null && !(dropout >= 0 && dropout < 1)) {
                errors.add("--dropout " + dropout + ": must be in [0, 1)");
            }
            if (globalBatch > 0 && microBatch > 0 && dataParallel > 0 && globalBatch % ((long) microBatch * dataParallel) != 0) {
                errors.add("--global-batch " + globalBatch + " is not divisible by --micro-batch " + microBatch + " × data-parallel "
                        + dataParallel + " = " + ((long) microBatch * dataParallel) + "; choose a global batch that is a multiple of "
                        + ((long) microBatch * dataParallel));
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException(String.join("\n", errors));
            }
            return new FineTuneConfig(modelDir, task, train, dev, out, epochs, maxSteps, lr, warmupRatio, weightDecay, maxGradNorm,
                    globalBatch, microBatch, maxLength, seed, tensorParallel, dataParallel, ZeroStage.of(zero), optimizer, evalEvery, dropout,
                    overwrite);
        }

        private static void file(List<String> errors, String flag, Path p) {
            if (p == null) {
                errors.add(flag + ": no file given");
            } else if (!Files.isRegularFile(p)) {
                errors.add(flag + " " + p + " does not exist or is not a file");
            }
        }

        private static void positive(List<String> errors, String flag, long v) {
            if (v < 1) {
                errors.add(flag + " " + v + ": must be at least 1");
            }
        }
    }
}
