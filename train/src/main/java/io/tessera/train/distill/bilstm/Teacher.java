package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Compute;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.parallel.ParallelContext;
import io.tessera.train.finetune.LabelSet;
import io.tessera.train.finetune.LabeledSentence;
import io.tessera.train.finetune.ModelTokenizer;
import io.tessera.train.finetune.TaskDataset;
import io.tessera.train.finetune.TaskPredictor;
import io.tessera.train.finetune.TaskTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The distillation teacher: a fine-tuned Hugging Face sequence classifier (what {@code tessera
 * finetune --task sequence-classification} exports), loaded in this process on one rank, that labels
 * sentences with its raw logits ({@link TaskPredictor#sequenceLogits}) in batches. Sentences longer
 * than {@code min(128, max_position_embeddings)} tokens are truncated as prediction truncates them.
 *
 * <p>{@link #check} reads only {@code config.json} and refuses, with the reason and the fix, a
 * directory that is not a single-label sequence classifier (a pre-training export, a token
 * classifier, a regression model, a BiLSTM student), so that a run can refuse it before it writes
 * anything.
 *
 * <p>Thread safety: not thread-safe; owns native memory, close it.
 */
public final class Teacher implements AutoCloseable {

    private final Path dir;
    private final TransformerModel model;
    private final NDManager manager;
    private final ParameterBuffer buffer;
    private final TaskTokenizer tokenizer;
    private final LabelSet labels;
    private final int maxLength;
    private final TaskPredictor predictor;

    private Teacher(Path dir, TransformerConfig config, NDManager parent, Compute compute, int batchSize) throws IOException {
        this.dir = dir;
        this.labels = LabelSet.of(config.head().labels());
        this.maxLength = Math.min(128, config.maxSequenceLength());
        this.tokenizer = ModelTokenizer.load(dir).tokenizer();
        this.manager = parent.newSubManager();
        this.model = TransformerModel.of(config, ParallelContext.single());
        this.buffer = ParameterBuffer.allocate(model, 0, manager, false);
        HfCheckpoint.load(model, dir);
        this.predictor = new TaskPredictor((ClassifierModel) model, compute, batchSize);
    }

    /**
     * Checks that a directory is a usable teacher, reading only its configuration.
     *
     * @param dir the directory
     * @return its configuration
     * @throws IOException if config.json cannot be read
     * @throws IllegalArgumentException naming what the directory is and what to pass instead
     */
    public static TransformerConfig check(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve(HfConfigJson.FILE_NAME))) {
            throw new IllegalArgumentException("--teacher " + dir + " has no config.json; pass the folder that `tessera finetune --task"
                    + " sequence-classification` exported (OUT/model)");
        }
        if (BiLstmStudent.isStudent(dir)) {
            throw new IllegalArgumentException("--teacher " + dir + " is a BiLSTM student (" + BiLstmStudent.ARCHITECTURE
                    + "); the teacher is the fine-tuned BERT-family sequence classifier it was distilled from");
        }
        TransformerConfig config = HfConfigJson.read(dir);
        HeadConfig head = config.head();
        if (head.task() == HeadConfig.Task.PRETRAINING) {
            throw new IllegalArgumentException("--teacher " + dir + " is a pre-training model (" + architecture(dir) + ") with no"
                    + " task head; fine-tune it first (tessera finetune --task sequence-classification --model-dir " + dir
                    + ") and pass its OUT/model as --teacher");
        }
        if (head.task() != HeadConfig.Task.SEQUENCE_CLASSIFICATION) {
            throw new IllegalArgumentException("--teacher " + dir + " is a token classifier (" + architecture(dir) + "); a BiLSTM"
                    + " student learns one label per sentence, so the teacher must be a sequence classifier (tessera finetune"
                    + " --task sequence-classification)");
        }
        if (head.problemType() == HeadConfig.ProblemType.REGRESSION) {
            throw new IllegalArgumentException("--teacher " + dir + " is a regression model (num_labels 1); distillation into a"
                    + " BiLSTM classifier needs a single-label classifier with at least 2 labels");
        }
        return config;
    }

    /** @return {@code architectures[0]} of the directory's config.json, or {@code model_type} where it has none */
    private static String architecture(Path dir) throws IOException {
        JsonObject c = JsonParser.parseString(Files.readString(dir.resolve(HfConfigJson.FILE_NAME), StandardCharsets.UTF_8))
                .getAsJsonObject();
        return c.has("architectures") && c.getAsJsonArray("architectures").size() > 0
                ? c.getAsJsonArray("architectures").get(0).getAsString() : String.valueOf(c.get("model_type"));
    }

    /**
     * Checks and loads a teacher.
     *
     * @param dir the fine-tuned directory
     * @param parent manager whose device computes; the teacher owns a child of it
     * @param compute the GEMM strategy
     * @param batchSize sentences per forward pass
     * @return the teacher
     * @throws IOException if a file cannot be read
     * @throws IllegalArgumentException as {@link #check}
     */
    public static Teacher load(Path dir, NDManager parent, Compute compute, int batchSize) throws IOException {
        Objects.requireNonNull(dir, "dir");
        return new Teacher(dir, check(dir), parent, compute, batchSize);
    }

    /** @return the teacher's labels (its id2label), in id order */
    public LabelSet labels() {
        return labels;
    }

    /** @return its parameter count */
    public long parameterCount() {
        return buffer.numel();
    }

    /** @return its directory */
    public Path dir() {
        return dir;
    }

    /**
     * @param texts sentences (a {@code [MASK]} in them is the tokenizer's mask token)
     * @return each sentence's logits, in the order of {@link #labels()}
     */
    public List<float[]> logits(List<String> texts) {
        return logits(texts, false);
    }

    /**
     * @param texts sentences
     * @param byLength whether to batch sentences of similar length together (far less padding for a
     *     transfer set of n-grams and full sentences; the logits come back in the given order either way)
     * @return each sentence's logits, in the order of {@link #labels()}
     */
    public List<float[]> logits(List<String> texts, boolean byLength) {
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (byLength) {
            Arrays.sort(order, Comparator.comparingInt(i -> texts.get(i).length()));
        }
        List<LabeledSentence> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < order.length; i++) {
            rows.add(new LabeledSentence(texts.get(order[i]), null, i + 1));
        }
        TaskDataset data = TaskDataset.classification(rows, null, tokenizer, maxLength, 0);
        List<float[]> sorted = predictor.sequenceLogits(data, manager);
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < order.length; i++) {
            out[order[i]] = sorted.get(i);
        }
        return Arrays.asList(out);
    }

    @Override
    public void close() {
        buffer.close();
        manager.close();
    }
}
