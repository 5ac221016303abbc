package io.tessera.examples;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.train.TrainConfig;
import io.tessera.train.Trainer;
import io.tessera.train.distill.DistilBertDistillation;
import io.tessera.train.distill.DistillationLoss;
import io.tessera.train.data.WikiText2;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The distillation API in a page: the main job's pretrained BERT distilled into a DistilBERT student with
 * half its layers, by two tensor-parallel ranks as threads of this JVM, the teacher replicated on each
 * (teacher degree 1). The pretraining trainer runs it: distillation is a {@code TrainingRecipe}.
 *
 * <pre>
 * bin/tessera pretrain                                   # writes runs/bert/model (and builds cli/target/lib)
 * java -Dai.djl.offline=true -cp "cli/target/lib/*" io.tessera.examples.DistilBertInOneJvm [TEACHER_DIR [OUT]]
 * </pre>
 *
 * For separate processes and schedulers use {@code bin/tessera distill distilbert}.
 *
 * <p>Thread safety: a program.
 */
public final class DistilBertInOneJvm {

    private DistilBertInOneJvm() {}

    /**
     * @param args optional teacher directory (default {@code runs/bert/model}) and output folder
     * @throws IOException if a configuration cannot be read
     */
    public static void main(String[] args) throws IOException {
        Path teacher = Path.of(args.length > 0 ? args[0] : "runs/bert/model");
        Path out = Path.of(args.length > 1 ? args[1] : "runs/distilbert-example");
        if (!Files.isDirectory(teacher)) {
            throw new IllegalStateException(teacher + " does not exist; run `bin/tessera pretrain` first or pass a teacher directory");
        }
        Path data = WikiText2.find(Path.of("").toAbsolutePath()).orElseThrow(() -> new IllegalStateException("data/wikitext-2 not found"));
        // The student's model, vocabulary and casing come from the teacher; the rest is a pretraining run.
        TrainConfig cfg = DistilBertDistillation.configure(TrainConfig.builder().setDataDir(data).setOut(out).optSteps(100)
                .optLr(5e-4).optWarmupSteps(10).optTensorParallel(2).optOverwrite(true), teacher, null, 0).build();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        List<Trainer.Result> results = LocalCluster.run(ParallelLayout.of(2, 2, 1), Duration.ofSeconds(300), ctx -> {
            try {
                return new Trainer(cfg, ctx, ctx.rank() == 0 ? System.out : quiet)
                        .withRecipe(new DistilBertDistillation(teacher, null, DistillationLoss.PAPER, 1)).run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Trainer.Result r = results.get(0);
        System.out.printf("student (%d layers) held-out MLM loss %.3f → %.3f; exported to %s%n", cfg.model().numLayers(),
                r.before().termLoss("mlm"), r.after().termLoss("mlm"), r.exported());
    }
}
