package io.tessera.train.distill.bilstm;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.io.AtomicFiles;
import io.tessera.train.finetune.FineTuneTask;
import io.tessera.train.finetune.LabelSet;
import io.tessera.train.finetune.LabeledSentence;
import io.tessera.train.finetune.TaskMetrics;
import io.tessera.train.finetune.TaskPrediction;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * {@code tessera predict} for a BiLSTM student directory: the same input and output as
 * {@link TaskPrediction} gives a sequence classifier (one sentence per line or a TSV with a
 * {@code sentence} column in; one label per line out, atomically; accuracy and macro-F1 printed
 * where the input has a {@code label} column, whose labels must be the student's). One process.
 *
 * <p>Thread safety: one call of {@link #run} at a time.
 */
public final class BiLstmPrediction {

    private final Path modelDir;
    private final Path input;
    private final Path output;
    private final int batchSize;

    /**
     * @param modelDir the student directory
     * @param input the input file
     * @param output the output file (replaced atomically)
     * @param batchSize sentences per forward pass
     */
    public BiLstmPrediction(Path modelDir, Path input, Path output, int batchSize) {
        this.modelDir = Objects.requireNonNull(modelDir, "modelDir");
        this.input = Objects.requireNonNull(input, "input");
        this.output = Objects.requireNonNull(output, "output");
        this.batchSize = batchSize;
    }

    /**
     * @param device where to compute
     * @param log where progress and scores go
     * @return the rows predicted and the scores against the input's labels (empty without labels)
     * @throws IOException if a file cannot be read or written
     * @throws IllegalArgumentException for a directory that is not a student, or malformed input, before writing
     */
    public TaskPrediction.Result run(Device device, PrintStream log) throws IOException {
        List<LabeledSentence> rows = TaskPrediction.sentences(input);
        try (NDManager manager = NDManager.newBaseManager(device); Torch.GradMode off = Torch.gradMode(false);
             BiLstmStudent student = BiLstmStudent.load(modelDir, manager)) {
            LabelSet labels = student.model().shape().labels();
            List<int[]> gold = null;
            if (rows.stream().allMatch(r -> r.label() != null)) {
                gold = new ArrayList<>(rows.size());
                for (LabeledSentence r : rows) {
                    gold.add(new int[] {labels.id(r.label(), input + " line " + r.line())});
                }
            }
            List<List<String>> words = rows.stream().map(r -> WordSplitter.split(r.text())).toList();
            int[] predicted = new BiLstmPredictor(student, batchSize).predict(words, manager);
            StringBuilder sb = new StringBuilder();
            List<int[]> p = new ArrayList<>(predicted.length);
            for (int id : predicted) {
                sb.append(labels.label(id)).append('\n');
                p.add(new int[] {id});
            }
            AtomicFiles.write(output, sb.toString().getBytes(StandardCharsets.UTF_8));
            log.printf("wrote %d predictions to %s%n", predicted.length, output);
            Map<String, Double> scores = gold == null ? Map.of() : TaskMetrics.of(FineTuneTask.SEQUENCE_CLASSIFICATION, labels, gold, p);
            if (!scores.isEmpty()) {
                StringBuilder s = new StringBuilder("scores against the input's labels:");
                scores.forEach((k, v) -> s.append(String.format(Locale.ROOT, " %s %.4f", k, v)));
                log.println(s);
            }
            return new TaskPrediction.Result(predicted.length, scores);
        }
    }
}
