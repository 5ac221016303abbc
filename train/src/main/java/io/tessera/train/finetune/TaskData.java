package io.tessera.train.finetune;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A fine-tuning run's training and dev sentences, tokenised, with the task's labels (taken from the
 * training file, in {@link LabelSet}'s fixed order) and the dev file's gold labels for scoring.
 *
 * <p>Thread safety: immutable.
 */
public final class TaskData {

    private final FineTuneTask task;
    private final LabelSet labels;
    private final TaskDataset train;
    private final TaskDataset dev;
    private final List<int[]> devGold;

    private TaskData(FineTuneTask task, LabelSet labels, TaskDataset train, TaskDataset dev, List<int[]> devGold) {
        this.task = task;
        this.labels = labels;
        this.train = train;
        this.dev = dev;
        this.devGold = List.copyOf(devGold);
    }

    /**
     * Reads and tokenises the configured files.
     *
     * @param cfg the run
     * @param tokenizer the model's tokenizer
     * @return the data
     * @throws IOException if a file cannot be read
     * @throws IllegalArgumentException for malformed files, or dev labels the training file lacks
     */
    public static TaskData load(FineTuneConfig cfg, TaskTokenizer tokenizer) throws IOException {
        Objects.requireNonNull(tokenizer, "tokenizer");
        if (cfg.task() == FineTuneTask.SEQUENCE_CLASSIFICATION) {
            List<LabeledSentence> train = TaskFiles.readTsv(cfg.train(), true);
            List<LabeledSentence> dev = TaskFiles.readTsv(cfg.dev(), true);
            LabelSet labels = LabelSet.fromData(train.stream().map(LabeledSentence::label).toList());
            List<int[]> gold = sentenceGold(dev, labels, cfg.dev());
            return new TaskData(cfg.task(), labels, TaskDataset.classification(train, labels, tokenizer, cfg.maxLength(), cfg.seed()),
                    TaskDataset.classification(dev, labels, tokenizer, cfg.maxLength(), cfg.seed()), gold);
        }
        List<TaggedSentence> train = TaskFiles.readConll(cfg.train(), true);
        List<TaggedSentence> dev = TaskFiles.readConll(cfg.dev(), true);
        LabelSet labels = LabelSet.fromData(train.stream().flatMap(s -> s.tags().stream()).toList());
        List<int[]> gold = wordGold(dev, labels, cfg.dev());
        return new TaskData(cfg.task(), labels, TaskDataset.tokens(train, labels, tokenizer, cfg.maxLength(), cfg.seed()),
                TaskDataset.tokens(dev, labels, tokenizer, cfg.maxLength(), cfg.seed()), gold);
    }

    /**
     * @param rows labelled sentences
     * @param labels the model's labels
     * @param file where they were read, for messages
     * @return each row's label id, as a one-element array
     * @throws IllegalArgumentException naming the line of a label the model does not know
     */
    static List<int[]> sentenceGold(List<LabeledSentence> rows, LabelSet labels, java.nio.file.Path file) {
        List<int[]> gold = new ArrayList<>(rows.size());
        for (LabeledSentence r : rows) {
            gold.add(new int[] {labels.id(r.label(), file + " line " + r.line())});
        }
        return gold;
    }

    /**
     * @param sentences tagged sentences
     * @param labels the model's labels
     * @param file where they were read, for messages
     * @return each sentence's tag ids, one per word
     * @throws IllegalArgumentException naming the line of a tag the model does not know
     */
    static List<int[]> wordGold(List<TaggedSentence> sentences, LabelSet labels, java.nio.file.Path file) {
        List<int[]> gold = new ArrayList<>(sentences.size());
        for (TaggedSentence s : sentences) {
            int[] g = new int[s.tags().size()];
            for (int w = 0; w < g.length; w++) {
                g[w] = labels.id(s.tags().get(w), file + " line " + (s.line() + w));
            }
            gold.add(g);
        }
        return gold;
    }

    /** @return every dev sentence's gold label ids, in order */
    public List<int[]> devGold() {
        return devGold;
    }

    /** @return the task */
    public FineTuneTask task() {
        return task;
    }

    /** @return the labels, in id order */
    public LabelSet labels() {
        return labels;
    }

    /** @return the training sentences */
    public TaskDataset train() {
        return train;
    }

    /** @return the dev sentences */
    public TaskDataset dev() {
        return dev;
    }

    /**
     * @param row a dev sentence
     * @return its gold label id (sequence classification: one) or tag ids (one per word)
     */
    public int[] devGold(int row) {
        return devGold.get(row);
    }

    /** @return the id of the tag {@code O} (what truncated words read back as), or 0 if there is none */
    public int outsideId() {
        int o = labels.labels().indexOf("O");
        return Math.max(o, 0);
    }

    /**
     * @param ids label ids
     * @return their labels
     */
    public List<String> labelsOf(int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(labels.label(id));
        }
        return out;
    }
}
