package io.tessera.train.distill.bilstm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One BiLSTM distillation run (or its gold-label baseline), built by {@link #builder()} and
 * validated in {@link Builder#build()}.
 *
 * <p>The defaults run as they are on SST-2 with a BERT-mini teacher (about 1 M parameters) and keep
 * the student near 80 k parameters (a 4,000-word vocabulary of 16-wide embeddings, H = 32, M = 32),
 * under a tenth of the teacher.
 *
 * <p>Thread safety: immutable.
 *
 * @param teacher the fine-tuned sequence classifier; null only for the baseline
 * @param train the training TSV ({@code sentence}, {@code label})
 * @param dev the dev TSV, scored after every epoch
 * @param out the output folder ({@code metrics.jsonl}, {@code model/})
 * @param overwrite whether an existing non-empty {@code out} may be replaced
 * @param distill true: MSE to the teacher's logits on the augmented transfer set; false: gold cross-entropy on the training set
 * @param alpha the weight of the gold cross-entropy in distillation, in [0, 1]
 * @param augmentation how the transfer set is grown
 * @param maxTransfer the most sentences in the transfer set (0: no limit)
 * @param embeddingDim E
 * @param hiddenSize H, per direction
 * @param mlpSize M
 * @param minCount the fewest occurrences in the transfer set a word needs to enter the vocabulary
 * @param maxVocab the most vocabulary entries, special words included (0: no limit)
 * @param lr AdamW's learning rate (constant)
 * @param maxGradNorm clipping of the global gradient norm (0: off)
 * @param epochs passes over the transfer (or training) set
 * @param batchSize sentences per step, and per forward pass when predicting
 * @param seed the seed of augmentation, initialisation and data order
 */
public record BiLstmDistillConfig(Path teacher, Path train, Path dev, Path out, boolean overwrite, boolean distill, double alpha,
        Augmentation augmentation, int maxTransfer, int embeddingDim, int hiddenSize, int mlpSize, int minCount, int maxVocab,
        double lr, double maxGradNorm, int epochs, int batchSize, long seed) {

    /** @return a builder with the defaults above */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link BiLstmDistillConfig}. Thread safety: not thread-safe. */
    public static final class Builder {
        private Path teacher;
        private Path train;
        private Path dev;
        private Path out;
        private boolean overwrite;
        private boolean distill = true;
        private double alpha;
        private Augmentation augmentation = Augmentation.defaults();
        private int maxTransfer;
        private int embeddingDim = 16;
        private int hiddenSize = 32;
        private int mlpSize = 32;
        private int minCount = 1;
        private int maxVocab = 4000;
        private double lr = 2e-3;
        private double maxGradNorm = 5;
        private int epochs = 3;
        private int batchSize = 64;
        private long seed = 42;

        private Builder() {}

        /** @param v the teacher directory @return this */
        public Builder optTeacher(Path v) { teacher = v; return this; }
        /** @param v the training TSV @return this */
        public Builder setTrain(Path v) { train = v; return this; }
        /** @param v the dev TSV @return this */
        public Builder setDev(Path v) { dev = v; return this; }
        /** @param v the output folder @return this */
        public Builder setOut(Path v) { out = v; return this; }
        /** @param v whether to replace a non-empty out @return this */
        public Builder optOverwrite(boolean v) { overwrite = v; return this; }
        /** @param v false for the gold-label baseline @return this */
        public Builder optDistill(boolean v) { distill = v; return this; }
        /** @param v α @return this */
        public Builder optAlpha(double v) { alpha = v; return this; }
        /** @param v the augmentation @return this */
        public Builder optAugmentation(Augmentation v) { augmentation = v; return this; }
        /** @param v the transfer-set cap (0: none) @return this */
        public Builder optMaxTransfer(int v) { maxTransfer = v; return this; }
        /** @param v E @return this */
        public Builder optEmbeddingDim(int v) { embeddingDim = v; return this; }
        /** @param v H @return this */
        public Builder optHiddenSize(int v) { hiddenSize = v; return this; }
        /** @param v M @return this */
        public Builder optMlpSize(int v) { mlpSize = v; return this; }
        /** @param v the vocabulary's minimum count @return this */
        public Builder optMinCount(int v) { minCount = v; return this; }
        /** @param v the vocabulary cap (0: none) @return this */
        public Builder optMaxVocab(int v) { maxVocab = v; return this; }
        /** @param v the learning rate @return this */
        public Builder optLr(double v) { lr = v; return this; }
        /** @param v the clipping norm (0: off) @return this */
        public Builder optMaxGradNorm(double v) { maxGradNorm = v; return this; }
        /** @param v epochs @return this */
        public Builder optEpochs(int v) { epochs = v; return this; }
        /** @param v the batch size @return this */
        public Builder optBatchSize(int v) { batchSize = v; return this; }
        /** @param v the seed @return this */
        public Builder optSeed(long v) { seed = v; return this; }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the field, its value and the rule
         */
        public BiLstmDistillConfig build() {
            Objects.requireNonNull(train, "train: set the training TSV");
            Objects.requireNonNull(dev, "dev: set the dev TSV");
            Objects.requireNonNull(out, "out: set the output folder");
            if (distill && teacher == null) {
                throw new IllegalArgumentException("teacher: distillation needs a fine-tuned sequence classifier (--teacher DIR);"
                        + " or run the gold-label baseline (--no-distill)");
            }
            if (!(alpha >= 0 && alpha <= 1)) {
                throw new IllegalArgumentException("alpha = " + alpha + ": the weight of the gold cross-entropy must be in [0, 1]");
            }
            atLeast(maxTransfer, 0, "maxTransfer");
            atLeast(embeddingDim, 1, "embeddingDim");
            atLeast(hiddenSize, 1, "hiddenSize");
            atLeast(mlpSize, 1, "mlpSize");
            atLeast(minCount, 1, "minCount");
            if (maxVocab != 0 && maxVocab <= WordVocabulary.SPECIAL.size()) {
                throw new IllegalArgumentException("maxVocab = " + maxVocab + ": must be 0 (no limit) or more than the "
                        + WordVocabulary.SPECIAL.size() + " special words");
            }
            if (!(lr > 0) || Double.isInfinite(lr)) {
                throw new IllegalArgumentException("lr = " + lr + ": the learning rate must be a positive number, e.g. 2e-3");
            }
            if (!(maxGradNorm >= 0)) {
                throw new IllegalArgumentException("maxGradNorm = " + maxGradNorm + ": must be 0 (off) or positive");
            }
            atLeast(epochs, 1, "epochs");
            atLeast(batchSize, 1, "batchSize");
            return new BiLstmDistillConfig(teacher, train, dev, out, overwrite, distill, alpha, Objects.requireNonNull(augmentation,
                    "augmentation"), maxTransfer, embeddingDim, hiddenSize, mlpSize, minCount, maxVocab, lr, maxGradNorm, epochs,
                    batchSize, seed);
        }

        private static void atLeast(long v, long min, String name) {
            if (v < min) {
                throw new IllegalArgumentException(name + " = " + v + ": must be at least " + min);
            }
        }
    }
}
