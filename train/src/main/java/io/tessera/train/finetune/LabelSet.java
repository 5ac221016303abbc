package io.tessera.train.finetune;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The labels of a task and their ids, as Hugging Face's {@code id2label} / {@code label2id} in
 * {@code config.json}. Built from training data in a fixed order, so that the same data always gives
 * the same ids: numerals in numeric order (SST-2's {@code 0, 1}); otherwise {@code O} first and the
 * rest sorted (CoNLL's {@code O, B-LOC, B-MISC, ...}).
 *
 * <p>Thread safety: immutable.
 */
public final class LabelSet {

    private final List<String> labels;
    private final Map<String, Integer> ids;

    private LabelSet(List<String> labels) {
        this.labels = List.copyOf(labels);
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            if (m.put(labels.get(i), i) != null) {
                throw new IllegalArgumentException("label '" + labels.get(i) + "' appears twice; labels must be distinct");
            }
        }
        this.ids = m;
    }

    /**
     * @param labels the labels in id order
     * @return the set
     * @throws IllegalArgumentException if fewer than 2 or not distinct
     */
    public static LabelSet of(List<String> labels) {
        Objects.requireNonNull(labels, "labels");
        if (labels.size() < 2) {
            throw new IllegalArgumentException("labels " + labels + ": a task needs at least 2 labels");
        }
        return new LabelSet(labels);
    }

    /**
     * The labels seen in training data, in the fixed order described above.
     *
     * @param seen every label occurrence (repeats are fine)
     * @return the set
     */
    public static LabelSet fromData(Collection<String> seen) {
        TreeSet<String> distinct = new TreeSet<>(seen);
        List<String> ordered = new ArrayList<>();
        if (distinct.stream().allMatch(s -> s.matches("-?\\d+"))) {
            distinct.stream().sorted((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b))).forEach(ordered::add);
        } else {
            if (distinct.remove("O")) {
                ordered.add("O");
            }
            ordered.addAll(distinct);
        }
        if (ordered.size() < 2) {
            throw new IllegalArgumentException("the training data has only the label(s) " + ordered + "; a task needs at least 2");
        }
        return new LabelSet(ordered);
    }

    /** @return the number of labels */
    public int size() {
        return labels.size();
    }

    /** @return the labels in id order */
    public List<String> labels() {
        return labels;
    }

    /**
     * @param id a label id
     * @return its label
     */
    public String label(int id) {
        return labels.get(Objects.checkIndex(id, labels.size()));
    }

    /**
     * @param label a label
     * @param where where it was read, for the message (e.g. {@code dev.tsv line 12})
     * @return its id
     * @throws IllegalArgumentException if the model does not know the label
     */
    public int id(String label, String where) {
        Integer id = ids.get(label);
        if (id == null) {
            throw new IllegalArgumentException(where + ": label '" + label + "' is not one of the model's labels " + labels
                    + "; the model was fine-tuned on those (see id2label in its config.json)");
        }
        return id;
    }
}
