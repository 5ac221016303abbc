package io.tessera.examples;

import ai.djl.Device;
import io.tessera.core.Compute;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.train.Evaluation;
import io.tessera.train.TrainingListener;
import io.tessera.train.finetune.FineTuneConfig;
import io.tessera.train.finetune.FineTuneTask;
import io.tessera.train.finetune.FineTuner;
import io.tessera.train.finetune.TaskFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The fine-tuning API in a page: a pretrained BERT-family directory fine-tuned on the shipped SST-2
 * sentiment data by two data-parallel ranks as threads of this JVM, with a listener of its own; the
 * best dev model is a Hugging Face {@code BertForSequenceClassification} directory.
 *
 * <pre>
 * bin/tessera pretrain                                   # writes runs/bert/model (and builds cli/target/lib)
 * java -Dai.djl.offline=true -cp "cli/target/lib/*" io.tessera.examples.FineTuneSentimentInOneJvm [MODEL_DIR [OUT]]
 * </pre>
 *
 * For separate processes and schedulers use {@code bin/tessera finetune}.
 *
 * <p>Thread safety: a program.
 */
public final class FineTuneSentimentInOneJvm {

    private FineTuneSentimentInOneJvm() {}

    /**
     * @param args optional pretrained model directory (default {@code runs/bert/model}) and output folder
     */
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "runs/bert/model");
        Path out = Path.of(args.length > 1 ? args[1] : "runs/sst2-example");
        if (!Files.isDirectory(model)) {
            throw new IllegalStateException(model + " does not exist; run `bin/tessera pretrain` first or pass a model directory");
        }
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(model).setTask(FineTuneTask.SEQUENCE_CLASSIFICATION)
                .setTrain(TaskFiles.shipped("sst-2/train.tsv", "train")).setDev(TaskFiles.shipped("sst-2/dev.tsv", "dev"))
                .setOut(out).optMaxSteps(300).optEvalEvery(100).optLr(1e-3).optGlobalBatch(32).optMicroBatch(16)
                .optMaxLength(64).optDataParallel(2).optOverwrite(true).build();
        // A listener of our own beside the metrics file and the console.
        TrainingListener report = new TrainingListener() {
            @Override
            public void onEvaluation(Evaluation e) {
                System.out.printf("step %d: dev accuracy %.3f%n", e.step(), e.metrics().get("accuracy"));
            }
        };
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        List<FineTuner.Result> results = LocalCluster.run(ParallelLayout.of(2, 1, 1), Duration.ofSeconds(300), ctx -> {
            try {
                return new FineTuner(cfg, ctx, Device.cpu(), ctx.rank() == 0 ? System.out : quiet,
                        ctx.rank() == 0 ? List.of(report) : List.of(), Compute.ofProcess()).run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        FineTuner.Result r = results.get(0);
        System.out.printf("best dev accuracy %.3f at step %d; model in %s%n", r.best().metrics().get("accuracy"), r.best().step(),
                r.exported());
    }
}
