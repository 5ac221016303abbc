package io.tessera.examples;

import io.tessera.models.config.Presets;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.train.Evaluation;
import io.tessera.train.StepReport;
import io.tessera.train.TrainConfig;
import io.tessera.train.Trainer;
import io.tessera.train.TrainingListener;
import io.tessera.train.data.WikiText2;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The training API in a page: pretrain a tiny BERT on the shipped WikiText-2 with four ranks as
 * threads of this JVM (tensor-parallel 2 × data-parallel 2, ZeRO-2), with a listener of its own.
 *
 * <pre>
 * bin/tessera --version                                  # builds cli/target/lib once
 * java -Dai.djl.offline=true -cp "cli/target/lib/*" io.tessera.examples.TinyBertInOneJvm [OUT]
 * </pre>
 *
 * (or run it from an IDE). It writes {@code OUT} (default {@code runs/tiny-bert}): metrics, a
 * layout-independent checkpoint and an exported Hugging Face model. For separate processes and
 * schedulers use {@code bin/tessera pretrain}.
 *
 * <p>Thread safety: a program.
 */
public final class TinyBertInOneJvm {

    private TinyBertInOneJvm() {}

    /**
     * @param args optional output folder
     */
    public static void main(String[] args) {
        Path out = Path.of(args.length > 0 ? args[0] : "runs/tiny-bert");
        Path data = WikiText2.find(Path.of("").toAbsolutePath()).orElseThrow(() -> new IllegalStateException(
                "data/wikitext-2 not found above " + Path.of("").toAbsolutePath() + "; run from the repository"));
        TrainConfig cfg = TrainConfig.builder().setModel(Presets.get("bert-tiny"), "bert-tiny").setDataDir(data).setOut(out)
                .optVocabSize(1000).optSeqLength(64).optSteps(20).optGlobalBatch(16).optMicroBatch(4).optWarmupSteps(2)
                .optTensorParallel(2).optDataParallel(2).optZero(2).optCheckpointEvery(10).optOverwrite(true).optProgress(false)
                .build();
        // A listener of our own beside the metrics file and the console: the best held-out MLM loss.
        TrainingListener best = new TrainingListener() {
            private double lowest = Double.POSITIVE_INFINITY;

            @Override
            public void onStep(StepReport r) {
                if (r.last()) {
                    System.out.printf("last step: loss %.4f at %.0f tokens/s%n", r.loss(), r.tokensPerSecond());
                }
            }

            @Override
            public void onEvaluation(Evaluation e) {
                lowest = Math.min(lowest, e.termLoss("mlm"));
                System.out.printf("best held-out MLM loss so far: %.4f%n", lowest);
            }
        };
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        List<Trainer.Result> results = LocalCluster.run(ParallelLayout.of(cfg.world(), cfg.tensorParallel(), 1), Duration.ofMinutes(5),
                ctx -> {
                    try {
                        return new Trainer(cfg, ctx, ai.djl.Device.cpu(), ctx.rank() == 0 ? System.out : quiet,
                                List.of(best)).run();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
        System.out.println("exported " + results.get(0).exported());
    }
}
