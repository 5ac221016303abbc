package io.tessera.cli;

import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.train.distill.bilstm.Augmentation;
import io.tessera.train.distill.bilstm.BiLstmDistillConfig;
import io.tessera.train.distill.bilstm.BiLstmDistiller;
import io.tessera.train.finetune.TaskFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera distill bilstm}: task-specific distillation of a fine-tuned BERT-family sentence
 * classifier into a small BiLSTM (Tang et al., 2019) with {@link BiLstmDistiller}, or, with
 * {@code --no-distill}, the same student trained on gold labels only. One process on the CPU.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "bilstm", mixinStandardHelpOptions = true,
        description = "Distil a fine-tuned sequence classifier (--teacher, finetune's OUT/model) into a single-layer BiLSTM trained"
                + " on the teacher's logits (MSE) over the training set grown by masking, same-part-of-speech replacement and n-gram"
                + " sampling; --no-distill trains the same student on gold labels only. Keeps the best dev student in OUT/model and"
                + " compares its size and speed with the teacher's.")
final class DistillBiLstmCommand implements Callable<Integer> {

    @Option(names = "--teacher", description = "Fine-tuned sequence classifier (finetune's OUT/model). Required unless --no-distill;"
            + " with --no-distill it is only compared with.")
    Path teacher;

    @Option(names = "--train", description = "Training TSV (sentence, label). Default: the shipped SST-2 train.tsv.")
    Path train;

    @Option(names = "--dev", description = "Dev TSV, scored after every epoch. Default: the shipped SST-2 dev.tsv.")
    Path dev;

    @Option(names = "--out", description = "Output folder (metrics.jsonl, model/). Default: runs/distill-bilstm.")
    Path out = Path.of("runs/distill-bilstm");

    @Option(names = "--overwrite", description = "Replace an existing --out.")
    boolean overwrite;

    @Option(names = "--no-distill", description = "Train on the gold labels of the training set only (the baseline).")
    boolean noDistill;

    @Option(names = "--alpha", description = "Weight of the gold cross-entropy on original sentences, 1 - alpha on the MSE."
            + " Default: ${DEFAULT-VALUE}.")
    double alpha;

    @Option(names = "--augment-iterations", description = "Augmented copies tried per training sentence (n_iter). Default:"
            + " ${DEFAULT-VALUE}.")
    int augmentIterations = Augmentation.defaults().iterations();

    @Option(names = "--p-mask", description = "Probability of masking a word. Default: ${DEFAULT-VALUE}.")
    double pMask = Augmentation.defaults().maskProbability();

    @Option(names = "--p-pos", description = "Probability of replacing a word by one of its part of speech. Default: ${DEFAULT-VALUE}.")
    double pPos = Augmentation.defaults().posProbability();

    @Option(names = "--p-ngram", description = "Probability of keeping only an n-gram (n in 1..5). Default: ${DEFAULT-VALUE}.")
    double pNgram = Augmentation.defaults().ngramProbability();

    @Option(names = "--max-transfer", description = "Most sentences in the transfer set, originals included (0: no limit)."
            + " Default: ${DEFAULT-VALUE}.")
    int maxTransfer;

    @Option(names = "--epochs", description = "Passes over the transfer set. Default: ${DEFAULT-VALUE}.")
    int epochs = 3;

    @Option(names = "--lr", description = "AdamW learning rate (constant). Default: ${DEFAULT-VALUE}.")
    double lr = 2e-3;

    @Option(names = "--batch", description = "Sentences per step, and per forward pass of both models when timing. Default:"
            + " ${DEFAULT-VALUE}.")
    int batch = 64;

    @Option(names = "--embedding-dim", description = "Word embedding width. Default: ${DEFAULT-VALUE}.")
    int embeddingDim = 16;

    @Option(names = "--hidden", description = "LSTM state per direction. Default: ${DEFAULT-VALUE}.")
    int hidden = 32;

    @Option(names = "--mlp", description = "Hidden layer of the classifier MLP. Default: ${DEFAULT-VALUE}.")
    int mlp = 32;

    @Option(names = "--min-count", description = "Fewest occurrences in the transfer set for a word to get its own embedding."
            + " Default: ${DEFAULT-VALUE}.")
    int minCount = 1;

    @Option(names = "--max-vocab", description = "Most vocabulary entries, [PAD] [UNK] [MASK] included (0: no limit). Default:"
            + " ${DEFAULT-VALUE}.")
    int maxVocab = 4000;

    @Option(names = "--seed", description = "Seed of augmentation, initialisation and data order. Default: ${DEFAULT-VALUE}.")
    long seed = 42;

    @Option(names = "--threads", description = "libtorch threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        BiLstmDistillConfig cfg = BiLstmDistillConfig.builder().optTeacher(teacher)
                .setTrain(train != null ? train : TaskFiles.shipped("sst-2/train.tsv", "--train"))
                .setDev(dev != null ? dev : TaskFiles.shipped("sst-2/dev.tsv", "--dev")).setOut(out).optOverwrite(overwrite)
                .optDistill(!noDistill).optAlpha(alpha).optAugmentation(new Augmentation(pMask, pPos, pNgram, augmentIterations))
                .optMaxTransfer(maxTransfer).optEpochs(epochs).optLr(lr).optBatchSize(batch).optEmbeddingDim(embeddingDim)
                .optHiddenSize(hidden).optMlpSize(mlp).optMinCount(minCount).optMaxVocab(maxVocab).optSeed(seed).build();
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads " + threads + ": must be at least 1");
        }
        Torch.setThreads(threads != null ? threads : Runtime.getRuntime().availableProcessors());
        BiLstmDistiller.Result r = new BiLstmDistiller(cfg, System.out, Compute.ofProcess()).run();
        System.out.printf("BiLSTM student (best dev, epoch %d): %s%n", r.best().epoch(), r.exported());
        return 0;
    }
}
