package io.tessera.cli;

import io.tessera.core.Devices;
import io.tessera.train.RunRecord;
import io.tessera.train.TrainConfig;
import io.tessera.train.Trainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera export}: consolidates a sharded training checkpoint (any TP/DP/ZeRO layout) into a
 * Hugging Face model directory, running as many ranks as the checkpoint was saved from.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Consolidate a run's checkpoint into a Hugging Face model directory (config.json, model.safetensors and the"
                + " run's tokenizer: vocab.txt, tokenizer_config.json, special_tokens_map.json).")
final class ExportCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--run", required = true, description = "The --out folder of a pretrain run.")
    Path run;

    @Option(names = "--checkpoint", description = "A step-* folder under RUN/checkpoints (default: the latest).")
    String checkpoint;

    @Option(names = "--out", required = true, description = "Model directory to write.")
    Path out;

    @Option(names = "--nproc", description = "Local ranks (default: the saved run's world size).")
    Integer nproc;

    @Option(names = "--threads", description = "libtorch threads per rank.")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        TrainConfig cfg = RunRecord.read(run);
        boolean rank = Ranks.scheduled() != null;
        Integer ranks = nproc != null ? nproc : (rank || cfg.world() == 1 ? null : cfg.world());
        Path ckpt = checkpoint == null ? null : run.resolve("checkpoints").resolve(checkpoint);
        // Consolidation is I/O and copies: it runs on the CPU whatever the run trained on.
        return Ranks.run(spec, ranks, cfg.tensorParallel(), threads, Duration.ofSeconds(300), Devices.parse("cpu"),
                (ctx, device) -> new Trainer(cfg, ctx, device, System.out).export(ckpt, out));
    }
}
