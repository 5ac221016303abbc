package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.train.finetune.FineTuneConfig;
import io.tessera.train.finetune.FineTuneFixture;
import io.tessera.train.finetune.FineTuneTask;
import io.tessera.train.finetune.FineTuner;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning at TP=2, DP=2 and TP=2 × DP=2 (ZeRO-2, ZeRO-3) ends with the parameters of one process
 * (dropout off, four steps of AdamW with warm-up and clipping): the same gradient step, whatever the
 * layout, up to summation order.
 */
class FineTuneLayoutTest {

    private static FineTuneConfig.Builder config(Path dir, Path model, FineTuneTask task, String out) throws Exception {
        boolean seq = task == FineTuneTask.SEQUENCE_CLASSIFICATION;
        Path train = seq ? FineTuneFixture.sentiment(dir.resolve("train.tsv"), 64, 1) : FineTuneFixture.entities(dir.resolve("train.txt"), 64, 1);
        Path dev = seq ? FineTuneFixture.sentiment(dir.resolve("dev.tsv"), 12, 2) : FineTuneFixture.entities(dir.resolve("dev.txt"), 12, 2);
        return FineTuneConfig.builder().setModelDir(model).setTask(task).setTrain(train).setDev(dev).setOut(dir.resolve(out))
                .optMaxSteps(4).optGlobalBatch(8).optMicroBatch(2).optMaxLength(16).optLr(1e-3).optDropout(0.0).optSeed(11).optOverwrite(true);
    }

    private static void assertSameAsOneProcess(Path dir, Path model, FineTuneTask task, int tp, int dp, int zero) throws Exception {
        FineTuner.Result one = FineTuneFixture.run(config(dir, model, task, "one").build()).get(0);
        List<FineTuner.Result> many = FineTuneFixture.run(config(dir, model, task, "tp" + tp + "dp" + dp + "z" + zero)
                .optTensorParallel(tp).optDataParallel(dp).optZero(zero).optMicroBatch(8 / dp / 2).build());
        for (int step = 0; step < 4; step++) {
            double a = one.losses().get(step);
            double b = many.get(0).losses().get(step);
            assertEquals(a, b, 1e-5 * Math.abs(a), task + " tp " + tp + " dp " + dp + " zero " + zero + " loss at step " + (step + 1));
        }
        double diff = TrainerFixture.maxRelativeDifference(many.get(0).exported(), one.exported(), 1e-6);
        assertTrue(diff <= 1e-5, task + " tp " + tp + " dp " + dp + " zero " + zero + ": parameters differ by " + diff + " relative");
        assertEquals(one.best().metrics(), many.get(0).best().metrics(), "dev scores");
    }

    @Test
    void sequenceClassificationAtTensorAndDataParallelLayoutsEqualsOneProcess(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("bert"), "bert-tiny");
        assertSameAsOneProcess(dir, model, FineTuneTask.SEQUENCE_CLASSIFICATION, 2, 1, 0);
        assertSameAsOneProcess(dir, model, FineTuneTask.SEQUENCE_CLASSIFICATION, 1, 2, 2);
    }

    @Test
    void tokenClassificationAtTp2Dp2Zero3EqualsOneProcess(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("roberta"), "roberta-tiny");
        assertSameAsOneProcess(dir, model, FineTuneTask.TOKEN_CLASSIFICATION, 2, 2, 3);
    }
}
