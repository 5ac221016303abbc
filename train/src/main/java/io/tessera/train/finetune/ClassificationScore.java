package io.tessera.train.finetune;

import java.util.Arrays;
import java.util.Objects;

/**
 * Accuracy and macro-averaged F1 of a single-label classifier, from its confusion counts.
 *
 * <pre>
 *   accuracy = Σ_c n[c][c] / N
 *   per class c:  P_c = n[c][c] / Σ_g n[g][c]   R_c = n[c][c] / Σ_p n[c][p]   F1_c = 2·P_c·R_c / (P_c + R_c)   (0 when 0/0)
 *   macro-F1 = mean over the classes that occur in the gold or the predicted labels of F1_c
 * </pre>
 *
 * (as scikit-learn's {@code f1_score(average="macro")} over the labels present).
 *
 * <p>Thread safety: not thread-safe; accumulate on one thread, then read.
 */
public final class ClassificationScore {

    private final long[][] confusion; // [gold][predicted]
    private long total;

    /**
     * @param classes the number of labels, at least 2
     */
    public ClassificationScore(int classes) {
        if (classes < 2) {
            throw new IllegalArgumentException("classes = " + classes + ": a classifier needs at least 2 labels");
        }
        this.confusion = new long[classes][classes];
    }

    /**
     * @param gold the gold label id
     * @param predicted the predicted label id
     */
    public void add(int gold, int predicted) {
        Objects.checkIndex(gold, confusion.length);
        Objects.checkIndex(predicted, confusion.length);
        confusion[gold][predicted]++;
        total++;
    }

    /** @return examples added */
    public long total() {
        return total;
    }

    /** @return the fraction predicted right, NaN before any example */
    public double accuracy() {
        if (total == 0) {
            return Double.NaN;
        }
        long right = 0;
        for (int c = 0; c < confusion.length; c++) {
            right += confusion[c][c];
        }
        return (double) right / total;
    }

    /** @return F1 of each class (0 for a class never seen nor predicted) */
    public double[] f1PerClass() {
        int n = confusion.length;
        double[] f1 = new double[n];
        for (int c = 0; c < n; c++) {
            long tp = confusion[c][c];
            long predicted = 0;
            long gold = 0;
            for (int o = 0; o < n; o++) {
                predicted += confusion[o][c];
                gold += confusion[c][o];
            }
            double p = predicted == 0 ? 0 : (double) tp / predicted;
            double r = gold == 0 ? 0 : (double) tp / gold;
            f1[c] = p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
        return f1;
    }

    /** @return the mean F1 over the classes present in the gold or predicted labels, NaN before any example */
    public double macroF1() {
        if (total == 0) {
            return Double.NaN;
        }
        double[] f1 = f1PerClass();
        double sum = 0;
        int present = 0;
        for (int c = 0; c < confusion.length; c++) {
            long seen = 0;
            for (int o = 0; o < confusion.length; o++) {
                seen += confusion[o][c] + confusion[c][o];
            }
            if (seen > 0) {
                sum += f1[c];
                present++;
            }
        }
        return sum / present;
    }

    /** @return the confusion counts flattened row by row, for summing over data-parallel ranks */
    public double[] counts() {
        int n = confusion.length;
        double[] out = new double[n * n];
        for (int g = 0; g < n; g++) {
            for (int p = 0; p < n; p++) {
                out[g * n + p] = confusion[g][p];
            }
        }
        return out;
    }

    /**
     * Replaces the counts with summed ones (from {@link #counts()} of scorers of as many classes).
     *
     * @param summed the counts
     */
    public void setCounts(double[] summed) {
        int n = confusion.length;
        if (summed.length != n * n) {
            throw new IllegalArgumentException(summed.length + " counts for " + n + " classes; expected " + (n * n));
        }
        total = 0;
        for (int g = 0; g < n; g++) {
            for (int p = 0; p < n; p++) {
                confusion[g][p] = Math.round(summed[g * n + p]);
                total += confusion[g][p];
            }
        }
    }

    /** @return a copy of the confusion counts, {@code [gold][predicted]} */
    public long[][] confusion() {
        return Arrays.stream(confusion).map(long[]::clone).toArray(long[][]::new);
    }
}
