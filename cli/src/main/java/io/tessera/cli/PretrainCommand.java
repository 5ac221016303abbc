package io.tessera.cli;

import io.tessera.core.Devices;
import io.tessera.train.Preflight;
import io.tessera.train.Task;
import io.tessera.train.TrainConfig;
import io.tessera.train.Trainer;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.amp.Precision;
import io.tessera.parallel.launch.JobEnvironment;
import io.tessera.parallel.pipeline.ScheduleKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera pretrain} and {@code tessera pretrain-gpt2}: pretrain on the shipped corpus, on N
 * local ranks ({@code --nproc}) or as one rank of a job a scheduler started (torchrun's or Slurm's
 * variables).
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "pretrain", description = "Pretrain BERT (MLM + NSP), ALBERT (MLM + SOP), or RoBERTa / DistilBERT (MLM on"
        + " full-sentence packs), on local ranks or as one rank of a scheduled job.",
        mixinStandardHelpOptions = true)
class PretrainCommand implements Callable<Integer> {

    /** The GPT-2 variant: same flags, causal LM objective. */
    @Command(name = "pretrain-gpt2", description = "Pretrain GPT-2 (next-token prediction) on local ranks or as one rank of a job.",
            mixinStandardHelpOptions = true)
    static final class Gpt2 extends PretrainCommand {
        Gpt2() {
            task = Task.GPT2;
            model = "gpt2-mini";
            out = Path.of("runs/gpt2");
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    Task task = Task.BERT;

    @Option(names = "--nproc", description = "Spawn this many local ranks (omit to join a job from torchrun/Slurm variables,"
            + " or to run one process).")
    Integer nproc;

    @Option(names = "--model", description = "Preset name (see README) or a"
            + " Hugging Face config.json path. Default: ${DEFAULT-VALUE}.")
    String model = "bert-mini";

    @Option(names = "--data", description = "Folder with valid.txt (training) and test.txt (held out). Default: ${DEFAULT-VALUE}.")
    Path data = Path.of("data/wikitext-2");

    @Option(names = "--out", description = "Output folder (checkpoints, metrics.jsonl, vocab.txt, model/). Default: ${DEFAULT-VALUE}.")
    Path out = Path.of("runs/bert");

    @Option(names = "--steps", description = "Optimizer steps. Default: ${DEFAULT-VALUE}.")
    int steps = 200;

    @Option(names = "--seed", description = "Seed of initialisation, data order, masking and dropout. Default: ${DEFAULT-VALUE}.")
    long seed = 1234;

    @Option(names = "--resume", description = "Continue from the latest checkpoint in --out.")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace an existing --out.")
    boolean overwrite;

    @Option(names = "--dropout", description = "Override hidden and attention dropout (0 for exactness checks).")
    Double dropout;

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: world / --dp when --dp is given; otherwise 2 when"
            + " the job has an even number of ranks and the model splits in two, else 1 (one process: tp 1; --nproc 2: tp 2).")
    Integer tp;

    @Option(names = "--dp", description = "Data-parallel degree (default: world / tp).")
    Integer dp;

    @Option(names = "--pp", description = "Pipeline-parallel degree: the layers split into this many contiguous stages"
            + " (BERT and GPT-2; world = tp × pp × dp). Default: ${DEFAULT-VALUE}.")
    int pp = 1;

    @Option(names = "--schedule", description = "Pipeline schedule: gpipe, 1f1b or interleaved. Default: ${DEFAULT-VALUE}.")
    String schedule = "1f1b";

    @Option(names = "--virtual-stages", description = "Model chunks per pipeline rank (interleaved schedule). Default: ${DEFAULT-VALUE}.")
    int virtualStages = 1;

    @Option(names = "--sequence-parallel", description = "Split LayerNorm, dropout and residual regions along the sequence over"
            + " the tensor-parallel group (needs --tp > 1; BERT and GPT-2).")
    boolean sequenceParallel;

    @Option(names = "--zero", description = "ZeRO stage 0-3. Default: ${DEFAULT-VALUE}.")
    int zero;

    @Option(names = "--optimizer", description = "adamw or lamb. Default: ${DEFAULT-VALUE}.")
    String optimizer = "adamw";

    @Option(names = "--micro-batch", description = "Examples per forward/backward per rank. Default: ${DEFAULT-VALUE}.")
    int microBatch = 16;

    @Option(names = "--global-batch", description = "Examples per step over all data-parallel ranks. Default: ${DEFAULT-VALUE}.")
    int globalBatch = 32;

    @Option(names = "--seq-length", description = "Tokens per example. Default: ${DEFAULT-VALUE}.")
    int seqLength = 64;

    @Option(names = "--vocab", description = "Use this vocab.txt instead of building a vocabulary from the corpus.")
    Path vocab;

    @Option(names = "--vocab-size", description = "WordPiece vocabulary built from the corpus. Default: ${DEFAULT-VALUE}.")
    int vocabSize = 4096;

    @Option(names = "--cased", description = "Keep case and accents (learn the vocabulary and tokenise cased, as BERT-cased);"
            + " default: uncased, lower-cased and accent-stripped. Named-entity tagging gains from case.")
    boolean cased;

    @Option(names = "--lr", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
    double lr = 2e-3;

    @Option(names = "--warmup", description = "Linear warm-up steps (then linear decay to 0); a warm-up not shorter than --steps"
            + " is cut to --steps − 1 with a warning. Default: ${DEFAULT-VALUE}.")
    int warmup = 20;

    @Option(names = "--weight-decay", description = "Decoupled weight decay. Default: ${DEFAULT-VALUE}.")
    double weightDecay = 0.01;

    @Option(names = "--clip", description = "Gradient clipping by global norm (0: off). Default: ${DEFAULT-VALUE}.")
    double clip = 1.0;

    @Option(names = "--eval-every", description = "Evaluate on held-out text every K steps (0: before and after only).")
    int evalEvery;

    @Option(names = "--eval-batches", description = "Held-out global batches per evaluation. Default: ${DEFAULT-VALUE}.")
    int evalBatches = 8;

    @Option(names = "--checkpoint-every", description = "Checkpoint every K steps (0: at the end only).")
    int checkpointEvery;

    @Option(names = "--precision", description = "fp32, or fp16: fp16 compute with fp32 master weights and optimizer states and"
            + " dynamic loss scaling (works on CPU). bf16 is refused: DJL 0.35.1's PyTorch JNI has no bf16. Default: ${DEFAULT-VALUE}.")
    String precision = "fp32";

    @Option(names = "--initial-loss-scale", description = "fp16 loss scale of the first step. Default: ${DEFAULT-VALUE} (2^16, as DeepSpeed).")
    double initialLossScale = 65536;

    @Option(names = "--loss-scale-window", description = "Clean fp16 steps before the loss scale doubles (it halves on every overflow)."
            + " Default: ${DEFAULT-VALUE}.")
    long lossScaleWindow = 1000;

    @Option(names = "--device", description = "auto (cuda:LOCAL_RANK where libtorch can use a GPU, else cpu), cpu, cuda or cuda:N."
            + " On GPUs the ranks' collectives run over NCCL. Default: ${DEFAULT-VALUE}.")
    String device = "auto";

    @Option(names = "--threads", description = "libtorch threads per rank (default: cores / ranks on this host).")
    Integer threads;

    @Option(names = "--timeout", description = "Seconds a collective may wait for a peer before the job fails. Default: ${DEFAULT-VALUE}.")
    int timeout = 300;

    @Override
    public Integer call() throws Exception {
        int world = Ranks.world(nproc);
        JobEnvironment env = Ranks.scheduled();
        // The process that trains as rank 0 speaks for the job: a spawning parent stays quiet, its rank 0 child says it once.
        boolean speaks = nproc == null && (env == null || env.rank() == 0);
        TrainConfig cfg = config(world, speaks);
        if (nproc != null || env == null || env.rank() == 0) {
            Preflight.check(cfg);
        }
        if (nproc != null) {
            cfg.device().resolve(nproc - 1, nproc); // every local rank's device exists, before spawning any
        }
        return Ranks.run(spec, nproc, cfg.tensorParallel(), cfg.pipelineParallel(), threads, Duration.ofSeconds(timeout), cfg.device(),
                (ctx, here) -> trainer(cfg, ctx, here).run());
    }

    /**
     * @param cfg the run
     * @param ctx this rank's groups
     * @param here this rank's device
     * @return the trainer this command runs on each rank (distillation adds its recipe)
     */
    Trainer trainer(TrainConfig cfg, io.tessera.parallel.ParallelContext ctx, ai.djl.Device here) throws java.io.IOException {
        return new Trainer(cfg, ctx, here, System.out);
    }

    /** @return the trained model's configuration ({@code --model}) */
    TransformerConfig modelConfig() throws java.io.IOException {
        return loadModel(model);
    }

    /**
     * @param b the run's configuration from the options
     * @return it with what a subcommand fixes (distillation: the student, the teacher's vocabulary)
     */
    TrainConfig.Builder adjust(TrainConfig.Builder b) throws java.io.IOException {
        return b;
    }

    private TrainConfig config(int world, boolean speaks) throws java.io.IOException {
        TransformerConfig mc = modelConfig();
        if (pp < 1 || world % pp != 0) {
            throw new IllegalArgumentException("--pp " + pp + " does not divide the " + world + " ranks; choose --nproc a multiple of --pp");
        }
        int perStage = world / pp;
        int tp = this.tp != null ? this.tp : defaultTensorParallel(perStage, dp, mc);
        if (tp < 1 || perStage % tp != 0) {
            throw new IllegalArgumentException("--tp " + tp + (pp > 1 ? " × --pp " + pp : "") + " does not divide the " + world
                    + " ranks; choose --nproc a multiple of --tp" + (pp > 1 ? " × --pp" : ""));
        }
        int dataParallel = dp != null ? dp : perStage / tp;
        if (dataParallel * tp * pp != world) {
            throw new IllegalArgumentException("--tp " + tp + (pp > 1 ? " × --pp " + pp : "") + " × --dp " + dataParallel + " = "
                    + (tp * pp * dataParallel) + " but the job has " + world + " ranks; omit --dp to derive it");
        }
        int warmup = steps > 0 && this.warmup >= steps ? steps - 1 : this.warmup;
        if (speaks && warmup != this.warmup) {
            spec.commandLine().getErr().printf("warning: --warmup %d is not shorter than --steps %d; using warm-up %d (the learning rate"
                    + " rises for the warm-up, then decays to 0 at the last step, so at least one step must follow it)%n",
                    this.warmup, steps, warmup);
        }
        // pretrain trains every encoder: BERT on MLM + NSP, RoBERTa and DistilBERT on MLM alone.
        Task task = this.task == Task.BERT && Task.of(mc.architecture()) == Task.MLM ? Task.MLM : this.task;
        TrainConfig cfg = adjust(TrainConfig.builder().optTask(task).setModel(mc, model).setDataDir(data).setOut(out).optSteps(steps).optSeed(seed)
                .optResume(resume).optOverwrite(overwrite).optDropout(dropout).optTensorParallel(tp).optDataParallel(dataParallel)
                .optZero(zero).optOptimizer(optimizer).optMicroBatch(microBatch).optGlobalBatch(globalBatch).optSeqLength(seqLength)
                .optVocabSize(vocabSize).optCased(cased).optLr(lr).optWarmupSteps(warmup).optWeightDecay(weightDecay).optMaxGradNorm(clip)
                .optVocabFile(vocab).optEvalEvery(evalEvery).optEvalBatches(evalBatches).optCheckpointEvery(checkpointEvery)
                .optPrecision(Precision.parse(precision)).optDevice(Devices.parse(device)).optInitialLossScale(initialLossScale)
                .optLossScaleWindow(lossScaleWindow).optPipelineParallel(pp).optVirtualStages(virtualStages)
                .optSchedule(ScheduleKind.parse(schedule)).optSequenceParallel(sequenceParallel))
                .build();
        if (speaks) {
            System.out.printf("layout: %d rank%s = tp %d × %sdp %d, ZeRO stage %d, %d steps%n", world, world == 1 ? "" : "s", tp,
                    pp > 1 ? "pp " + pp + " (" + cfg.schedule().flag() + (virtualStages > 1 ? ", " + virtualStages + " chunks per stage" : "")
                    + ") × " : "", dataParallel, zero, steps);
        }
        return cfg;
    }

    /**
     * The tensor-parallel degree when {@code --tp} is not given: {@code world / dp} when {@code --dp} is;
     * otherwise 2 when the ranks come in pairs and the model's heads, hidden and MLP sizes split in two
     * (the layout the README's {@code --nproc 2} shows), else 1, so that one process always runs.
     *
     * @param world ranks of the job
     * @param dp the {@code --dp} flag, or null
     * @param model the model to split
     * @return the degree; {@link #config} checks that it divides the ranks
     */
    static int defaultTensorParallel(int world, Integer dp, TransformerConfig model) {
        if (dp != null) {
            if (dp < 1 || world % dp != 0) {
                throw new IllegalArgumentException("--dp " + dp + " does not divide the " + world + " ranks; choose --nproc a multiple"
                        + " of --dp, or omit --dp");
            }
            return world / dp;
        }
        if (world % 2 != 0) {
            return 1;
        }
        try {
            model.validateFor(2);
            return 2;
        } catch (IllegalArgumentException e) {
            return 1;
        }
    }

    static TransformerConfig loadModel(String model) throws java.io.IOException {
        Path p = Path.of(model);
        if (model.endsWith(".json") || Files.isRegularFile(p)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("--model " + model + ": no such config file");
            }
            return HfConfigJson.read(p);
        }
        if (Files.isDirectory(p) && Files.isRegularFile(p.resolve(HfConfigJson.FILE_NAME))) {
            return HfConfigJson.read(p.resolve(HfConfigJson.FILE_NAME));
        }
        return Presets.get(model);
    }
}
