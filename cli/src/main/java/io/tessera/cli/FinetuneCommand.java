package io.tessera.cli;

import io.tessera.core.Compute;
import io.tessera.core.Devices;
import io.tessera.optim.OptimizerKind;
import io.tessera.train.finetune.FineTuneConfig;
import io.tessera.train.finetune.FineTuneTask;
import io.tessera.train.finetune.FineTuner;
import io.tessera.train.finetune.TaskFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera finetune}: a pretrained BERT-family directory fine-tuned for sentence classification
 * or token labelling ({@link FineTuner}), on local ranks or as one rank of a scheduled job.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Fine-tune a BERT, RoBERTa or DistilBERT Hugging Face directory for sequence classification (TSV with sentence"
                + " and label columns, e.g. SST-2) or token classification (CoNLL 'word TAG' lines, e.g. CoNLL-2003); keeps the"
                + " best dev model in OUT/model.")
final class FinetuneCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model-dir", description = "Pretrained Hugging Face directory with its tokenizer. Default: ${DEFAULT-VALUE}"
            + " (what `tessera pretrain` exports).")
    Path modelDir = Path.of("runs/bert/model");

    @Option(names = "--task", required = true, description = "sequence-classification or token-classification.")
    String task;

    @Option(names = "--train", description = "Training file. Default: the shipped SST-2 train.tsv or CoNLL-2003 train.txt"
            + " (data/ or shared/data/ above the working directory).")
    Path train;

    @Option(names = "--dev", description = "Dev file, scored after every epoch; the best model is kept. Default: the shipped dev file.")
    Path dev;

    @Option(names = "--out", description = "Output folder (metrics.jsonl, model/). Default: runs/finetune-TASK.")
    Path out;

    @Option(names = "--epochs", description = "Passes over the training file. Default: ${DEFAULT-VALUE}.")
    int epochs = 3;

    @Option(names = "--max-steps", description = "Stop after this many steps (0: all epochs). Default: ${DEFAULT-VALUE}.")
    int maxSteps;

    @Option(names = "--lr", description = "Peak learning rate (2e-5 to 5e-5 for base-size models). Default: ${DEFAULT-VALUE}.")
    double lr = 3e-5;

    @Option(names = "--warmup", description = "Fraction of the steps with linear warm-up, then linear decay to 0. Default: ${DEFAULT-VALUE}.")
    double warmup = 0.1;

    @Option(names = "--weight-decay", description = "AdamW weight decay (not on biases and LayerNorm). Default: ${DEFAULT-VALUE}.")
    double weightDecay = 0.01;

    @Option(names = "--clip", description = "Gradient clipping by global norm (0: off). Default: ${DEFAULT-VALUE}.")
    double clip = 1.0;

    @Option(names = "--global-batch", description = "Sentences per step over all data-parallel ranks. Default: ${DEFAULT-VALUE}.")
    int globalBatch = 32;

    @Option(names = "--micro-batch", description = "Sentences per forward/backward per rank (default: global batch / dp).")
    Integer microBatch;

    @Option(names = "--max-length", description = "Longest sequence in tokens, special tokens included. Default: ${DEFAULT-VALUE}.")
    int maxLength = 128;

    @Option(names = "--seed", description = "Seed of the head's initialisation, data order and dropout. Default: ${DEFAULT-VALUE}.")
    long seed = 42;

    @Option(names = "--dropout", description = "Override hidden, attention and classifier dropout.")
    Double dropout;

    @Option(names = "--eval-every", description = "Score dev every K steps (0: after each epoch).")
    int evalEvery;

    @Option(names = "--optimizer", description = "adamw or lamb. Default: ${DEFAULT-VALUE}.")
    String optimizer = "adamw";

    @Option(names = "--overwrite", description = "Replace an existing --out.")
    boolean overwrite;

    @Option(names = "--nproc", description = "Spawn this many local ranks (omit to join a torchrun/Slurm job, or to run one process).")
    Integer nproc;

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: ${DEFAULT-VALUE}.")
    int tp = 1;

    @Option(names = "--zero", description = "ZeRO stage 0-3. Default: ${DEFAULT-VALUE}.")
    int zero;

    @Option(names = "--device", description = "auto, cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device = "auto";

    @Option(names = "--threads", description = "libtorch threads per rank (default: cores / ranks on this host).")
    Integer threads;

    @Option(names = "--timeout", description = "Seconds a collective may wait for a peer. Default: ${DEFAULT-VALUE}.")
    int timeout = 300;

    @Option(names = "--plots", description = "Write loss and dev-score charts (PNG) into --out at the end.")
    boolean plots;

    @Override
    public Integer call() throws Exception {
        FineTuneTask t = FineTuneTask.parse(task);
        int world = Ranks.world(nproc);
        int dp = Ranks.dataParallel(world, tp);
        boolean seq = t == FineTuneTask.SEQUENCE_CLASSIFICATION;
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(modelDir).setTask(t)
                .setTrain(train != null ? train : TaskFiles.shipped(seq ? "sst-2/train.tsv" : "conll2003/train.txt", "--train"))
                .setDev(dev != null ? dev : TaskFiles.shipped(seq ? "sst-2/dev.tsv" : "conll2003/dev.txt", "--dev"))
                .setOut(out != null ? out : Path.of("runs/finetune-" + t.flag())).optEpochs(epochs).optMaxSteps(maxSteps).optLr(lr)
                .optWarmupRatio(warmup).optWeightDecay(weightDecay).optMaxGradNorm(clip).optGlobalBatch(globalBatch)
                .optMicroBatch(microBatch != null ? microBatch : Math.max(1, globalBatch / dp)).optMaxLength(maxLength).optSeed(seed)
                .optDropout(dropout).optEvalEvery(evalEvery).optOptimizer(OptimizerKind.parse(optimizer)).optOverwrite(overwrite)
                .optTensorParallel(tp).optDataParallel(dp).optZero(zero).build();
        Devices dev = Devices.parse(device);
        if (nproc != null) {
            dev.resolve(nproc - 1, nproc);
        }
        return Ranks.run(spec, nproc, tp, threads, Duration.ofSeconds(timeout), dev, (ctx, here) -> {
            FineTuner.Result r = new FineTuner(cfg, ctx, here, System.out, List.of(), Compute.ofProcess()).run();
            if (ctx.rank() == 0) {
                if (plots) {
                    MetricsPlots.write(cfg.out().resolve("metrics.jsonl"), cfg.out());
                }
                System.out.println("fine-tuned model (best dev, step " + r.best().step() + "): " + r.exported());
            }
        });
    }
}
