package io.tessera.train.distill.bilstm;

import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.train.finetune.FineTuneConfig;
import io.tessera.train.finetune.FineTuneFixture;
import io.tessera.train.finetune.FineTuneTask;
import io.tessera.train.finetune.FineTuner;
import io.tessera.train.finetune.LabelSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Teachers for distillation tests: a tiny BERT fine-tuned on {@link FineTuneFixture#sentiment}
 * (the adjective decides the label), and directories that are not sequence classifiers.
 */
public final class DistillFixture {

    private DistillFixture() {}

    /**
     * @param dir a folder for the run
     * @return the fine-tuned sequence classifier ({@code dir/finetune/model}), labels {@code 0, 1}
     */
    public static Path teacher(Path dir) throws IOException {
        Path pretrained = FineTuneFixture.pretrained(dir.resolve("bert"), "bert-tiny");
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(pretrained).setTask(FineTuneTask.SEQUENCE_CLASSIFICATION)
                .setTrain(FineTuneFixture.sentiment(dir.resolve("teacher-train.tsv"), 256, 1))
                .setDev(FineTuneFixture.sentiment(dir.resolve("teacher-dev.tsv"), 64, 2)).setOut(dir.resolve("finetune"))
                .optEpochs(4).optLr(2e-3).optGlobalBatch(16).optMicroBatch(16).optMaxLength(16).build();
        return FineTuneFixture.run(cfg).get(0).exported();
    }

    /**
     * @param dir a folder
     * @return a pre-training export ({@code BertForPreTraining}) with its tokenizer
     */
    public static Path pretrainingModel(Path dir) throws IOException {
        return FineTuneFixture.pretrained(dir.resolve("pretraining"), "bert-tiny");
    }

    /**
     * A copy of a model directory's tokenizer and weights under a config.json with another task head.
     *
     * @param model a model directory
     * @param dir where to write
     * @param task the head's task
     * @param labels its labels
     * @return {@code dir}
     */
    public static Path withHead(Path model, Path dir, FineTuneTask task, List<String> labels) throws IOException {
        Files.createDirectories(dir);
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        TransformerConfig c = FineTuner.taskConfig(model, task, LabelSet.of(labels), null);
        HfConfigJson.write(c, dir);
        return dir;
    }
}
