package io.tessera.cli;

import io.tessera.core.Compute;
import io.tessera.core.Devices;
import io.tessera.train.distill.bilstm.BiLstmPrediction;
import io.tessera.train.distill.bilstm.BiLstmStudent;
import io.tessera.train.finetune.TaskPrediction;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera predict}: labels from a fine-tuned task directory ({@link TaskPrediction}), on local
 * ranks or as one rank of a scheduled job; a BiLSTM student ({@code architectures}
 * {@code BiLstmForSequenceClassification}) predicts the same way in one process ({@link BiLstmPrediction}).
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Predict with a fine-tuned model directory: a sequence classifier writes one label per input sentence (input:"
                + " one sentence per line, or a TSV with a 'sentence' column); a token classifier writes the CoNLL input with the"
                + " predicted tag as an extra last column. Where the input has labels, prints the scores against them.")
final class PredictCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model-dir", required = true, description = "Fine-tuned directory (finetune's OUT/model), or a BiLSTM"
            + " student (distill bilstm's OUT/model).")
    Path modelDir;

    @Option(names = "--input", required = true, description = "Sentences (one per line or TSV), or CoNLL for a token classifier.")
    Path input;

    @Option(names = "--output", required = true, description = "File to write (replaced atomically).")
    Path output;

    @Option(names = "--max-length", description = "Longest sequence in tokens (default: 128, or the model's positions if fewer).")
    Integer maxLength;

    @Option(names = "--batch", description = "Sentences per forward pass per rank. Default: ${DEFAULT-VALUE}.")
    int batch = 64;

    @Option(names = "--nproc", description = "Spawn this many local ranks.")
    Integer nproc;

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: ${DEFAULT-VALUE}.")
    int tp = 1;

    @Option(names = "--device", description = "auto, cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device = "auto";

    @Option(names = "--threads", description = "libtorch threads per rank.")
    Integer threads;

    @Option(names = "--timeout", description = "Seconds a collective may wait for a peer. Default: ${DEFAULT-VALUE}.")
    int timeout = 300;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch " + batch + ": must be at least 1");
        }
        Ranks.dataParallel(Ranks.world(nproc), tp);
        if (BiLstmStudent.isStudent(modelDir)) {
            if (nproc != null || tp != 1) {
                throw new IllegalArgumentException("--model-dir " + modelDir + " is a BiLSTM student, which predicts in one process;"
                        + " drop --nproc and --tp");
            }
            return Ranks.run(spec, null, 1, threads, Duration.ofSeconds(timeout), Devices.parse(device),
                    (ctx, here) -> new BiLstmPrediction(modelDir, input, output, batch).run(here, System.out));
        }
        TaskPrediction prediction = new TaskPrediction(modelDir, input, output, maxLength, batch);
        return Ranks.run(spec, nproc, tp, threads, Duration.ofSeconds(timeout), Devices.parse(device),
                (ctx, here) -> prediction.run(ctx, here, Compute.ofProcess(), System.out));
    }
}
