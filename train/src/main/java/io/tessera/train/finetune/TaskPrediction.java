package io.tessera.train.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.core.io.AtomicFiles;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Prediction with a fine-tuned Hugging Face task directory ({@code …ForSequenceClassification} or
 * {@code …ForTokenClassification} with {@code id2label} and its tokenizer), on any layout.
 *
 * <pre>
 *   sequence classifier   input: one sentence per line, or a TSV with a 'sentence' column   output: one label per line
 *   token classifier      input: CoNLL ('word' or 'word ... TAG' lines, blank between sentences)
 *                         output: the input's lines with the predicted tag appended as the last column
 * </pre>
 *
 * <p>Where the input carries labels (a TSV's {@code label} column, CoNLL tags), they must be the
 * model's, and the scores against them (accuracy / entity F1) are returned and printed. Rank 0 writes
 * the output atomically; nothing is written when the input is refused.
 *
 * <p>Thread safety: one call of {@link #run} per rank.
 */
public final class TaskPrediction {

    /**
     * What a prediction run produced.
     *
     * @param rows rows (sentences) predicted
     * @param scores the scores against the input's labels, empty when it has none
     */
    public record Result(int rows, Map<String, Double> scores) {}

    private final Path modelDir;
    private final Path input;
    private final Path output;
    private final Integer maxLength;
    private final int batchSize;

    /**
     * @param modelDir the fine-tuned directory
     * @param input the input file
     * @param output the output file (replaced atomically)
     * @param maxLength the longest sequence, or null for the smaller of 128 and the model's positions
     * @param batchSize sentences per forward pass on one rank
     */
    public TaskPrediction(Path modelDir, Path input, Path output, Integer maxLength, int batchSize) {
        this.modelDir = Objects.requireNonNull(modelDir, "modelDir");
        this.input = Objects.requireNonNull(input, "input");
        this.output = Objects.requireNonNull(output, "output");
        this.maxLength = maxLength;
        this.batchSize = batchSize;
    }

    /**
     * @param ctx this rank's groups (any tp × dp)
     * @param device where this rank computes
     * @param compute the GEMM strategy
     * @param log where rank 0 reports progress and scores
     * @return rows and scores
     * @throws IOException if a file cannot be read or written
     * @throws IllegalArgumentException for a directory that is not a task model, or malformed input
     */
    public Result run(ParallelContext ctx, Device device, Compute compute, PrintStream log) throws IOException {
        if (!Files.isRegularFile(modelDir.resolve(HfConfigJson.FILE_NAME))) {
            throw new IllegalArgumentException("--model-dir " + modelDir + " has no config.json; pass the model folder that finetune"
                    + " exported (OUT/model)");
        }
        TransformerConfig config = HfConfigJson.read(modelDir);
        HeadConfig head = config.head();
        if (head.task() == HeadConfig.Task.PRETRAINING) {
            throw new IllegalArgumentException("--model-dir " + modelDir + " holds a pre-training model (" + config.architecture()
                    + "), not a task model; fine-tune it first (tessera finetune) and predict with its OUT/model");
        }
        if (head.problemType() == HeadConfig.ProblemType.REGRESSION) {
            throw new IllegalArgumentException("--model-dir " + modelDir + " is a regression model (num_labels 1); predict writes class"
                    + " labels and supports single-label classification only");
        }
        FineTuneTask task = head.task() == HeadConfig.Task.SEQUENCE_CLASSIFICATION ? FineTuneTask.SEQUENCE_CLASSIFICATION
                : FineTuneTask.TOKEN_CLASSIFICATION;
        int length = maxLength != null ? maxLength : Math.min(128, config.maxSequenceLength());
        if (length > config.maxSequenceLength()) {
            throw new IllegalArgumentException("--max-length " + length + " is longer than the " + config.maxSequenceLength()
                    + " positions of " + modelDir + "; use --max-length " + config.maxSequenceLength() + " or less");
        }
        LabelSet labels = LabelSet.of(head.labels());
        TaskTokenizer tokenizer = ModelTokenizer.load(modelDir).tokenizer();
        Input in = read(task, labels, tokenizer, length);
        boolean lead = ctx.rank() == 0;
        TaskPredictor.Predictions p;
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = TransformerModel.of(config, ctx);
            try (ParameterBuffer buffer = ParameterBuffer.allocate(model, 0, manager, false)) {
                HfCheckpoint.load(model, modelDir);
                int n = in.data().size();
                int[] shown = {0};
                p = new TaskPredictor((ClassifierModel) model, compute, batchSize).predict(in.data(), task, outside(labels), manager,
                        done -> {
                            if (lead && (done == n || done - shown[0] >= Math.max(1000, n / 10))) {
                                shown[0] = done;
                                log.printf("predicted %d/%d sentences%n", done, n);
                            }
                        });
            }
        }
        Map<String, Double> scores = in.gold() == null ? Map.of() : TaskMetrics.of(task, labels, in.gold(), p.labels());
        if (lead) {
            AtomicFiles.write(output, render(task, labels, p.labels(), in.sentences()).getBytes(StandardCharsets.UTF_8));
            log.printf("wrote %d predictions to %s%n", p.labels().size(), output);
            if (!scores.isEmpty()) {
                StringBuilder sb = new StringBuilder("scores against the input's labels:");
                scores.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.4f", k, v)));
                log.println(sb);
            }
        }
        return new Result(p.labels().size(), scores);
    }

    /** The input's rows, tokenised, with their gold labels where it has them. */
    private record Input(TaskDataset data, List<int[]> gold, List<TaggedSentence> sentences) {}

    private Input read(FineTuneTask task, LabelSet labels, TaskTokenizer tokenizer, int length) throws IOException {
        if (task == FineTuneTask.SEQUENCE_CLASSIFICATION) {
            List<LabeledSentence> rows = sentences(input);
            boolean labelled = rows.stream().allMatch(r -> r.label() != null);
            List<int[]> gold = labelled ? TaskData.sentenceGold(rows, labels, input) : null;
            return new Input(TaskDataset.classification(rows, null, tokenizer, length, 0), gold, null);
        }
        List<TaggedSentence> sentences = TaskFiles.readConll(input, false);
        boolean tagged = sentences.stream().allMatch(TaggedSentence::tagged);
        List<int[]> gold = tagged ? TaskData.wordGold(sentences, labels, input) : null;
        List<TaggedSentence> untagged = new ArrayList<>(sentences.size());
        for (TaggedSentence s : sentences) {
            untagged.add(new TaggedSentence(s.words(), List.of(), s.line()));
        }
        return new Input(TaskDataset.tokens(untagged, labels, tokenizer, length, 0), gold, sentences);
    }

    private static String render(FineTuneTask task, LabelSet labels, List<int[]> predicted, List<TaggedSentence> rows) {
        StringBuilder sb = new StringBuilder();
        if (task == FineTuneTask.SEQUENCE_CLASSIFICATION) {
            for (int[] p : predicted) {
                sb.append(labels.label(p[0])).append('\n');
            }
            return sb.toString();
        }
        for (int i = 0; i < rows.size(); i++) {
            TaggedSentence s = rows.get(i);
            for (int w = 0; w < s.words().size(); w++) {
                sb.append(s.words().get(w));
                if (s.tagged()) {
                    sb.append(' ').append(s.tags().get(w));
                }
                sb.append(' ').append(labels.label(predicted.get(i)[w])).append('\n');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * A classification input: a TSV with a {@code sentence} column (and perhaps {@code label}), or
     * else one sentence per non-blank line.
     *
     * @param file the {@code --input} file
     * @return its rows, labelled where the TSV has a {@code label} column
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException for a missing or empty file
     */
    public static List<LabeledSentence> sentences(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--input " + file + " does not exist or is not a file");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String first = lines.stream().filter(l -> !l.isBlank()).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "--input " + file + " is empty; give one sentence per line, or a TSV with a 'sentence' column"));
        if (List.of(first.split("\t", -1)).contains(TaskFiles.SENTENCE)) {
            return TaskFiles.readTsv(file, false);
        }
        List<LabeledSentence> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                out.add(new LabeledSentence(lines.get(i).strip(), null, i + 1));
            }
        }
        return out;
    }

    private static int outside(LabelSet labels) {
        return Math.max(0, labels.labels().indexOf("O"));
    }
}
