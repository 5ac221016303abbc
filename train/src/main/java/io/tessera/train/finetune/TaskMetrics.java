package io.tessera.train.finetune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A task's scores from gold and predicted label ids, by the names {@code metrics.jsonl} and the console
 * use:
 * <pre>
 *   sequence classification   accuracy, macro_f1                             ({@link ClassificationScore})
 *   token classification      precision, recall, f1, f1_TYPE for each type   ({@link EntityF1}, conlleval's rules)
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class TaskMetrics {

    /** Sentence accuracy. */
    public static final String ACCURACY = "accuracy";
    /** Macro-averaged F1 over the classes present. */
    public static final String MACRO_F1 = "macro_f1";
    /** Entity-level micro F1. */
    public static final String F1 = "f1";

    private TaskMetrics() {}

    /**
     * @param task the task
     * @param labels the labels the ids index
     * @param gold per row, the gold ids (one, or one per word)
     * @param predicted per row, the predicted ids, shaped as {@code gold}
     * @return the scores, in report order
     * @throws IllegalArgumentException if the rows or their lengths differ
     */
    public static Map<String, Double> of(FineTuneTask task, LabelSet labels, List<int[]> gold, List<int[]> predicted) {
        Objects.requireNonNull(labels, "labels");
        if (gold.size() != predicted.size()) {
            throw new IllegalArgumentException(gold.size() + " gold rows but " + predicted.size() + " predicted rows");
        }
        Map<String, Double> out = new LinkedHashMap<>();
        if (task == FineTuneTask.SEQUENCE_CLASSIFICATION) {
            ClassificationScore s = new ClassificationScore(labels.size());
            for (int i = 0; i < gold.size(); i++) {
                s.add(gold.get(i)[0], predicted.get(i)[0]);
            }
            out.put(ACCURACY, s.accuracy());
            out.put(MACRO_F1, s.macroF1());
            return out;
        }
        EntityF1 f1 = new EntityF1(EntityF1.types(labels.labels()));
        for (int i = 0; i < gold.size(); i++) {
            if (gold.get(i).length != predicted.get(i).length) {
                throw new IllegalArgumentException("row " + i + ": " + gold.get(i).length + " gold tags but " + predicted.get(i).length
                        + " predicted");
            }
            f1.add(names(labels, gold.get(i)), names(labels, predicted.get(i)));
        }
        EntityF1.Score all = f1.overall();
        out.put("precision", all.precision());
        out.put("recall", all.recall());
        out.put(F1, all.f1());
        f1.byType().forEach((type, s) -> out.put("f1_" + type, s.f1()));
        return out;
    }

    private static List<String> names(LabelSet labels, int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(labels.label(id));
        }
        return out;
    }
}
