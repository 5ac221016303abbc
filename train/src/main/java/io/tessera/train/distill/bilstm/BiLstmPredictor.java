package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDManager;
import io.tessera.core.tape.Tape;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Logits and arg-max labels of a {@link BiLstmStudent} over many sentences, in batches of consecutive
 * sentences (in the given order), each on an evaluation tape (no graph, no dropout).
 *
 * <p>Thread safety: stateless between calls; one call at a time (the student is not thread-safe).
 */
public final class BiLstmPredictor {

    private final BiLstmStudent student;
    private final int batchSize;

    /**
     * @param student the student
     * @param batchSize sentences per forward pass, at least 1
     */
    public BiLstmPredictor(BiLstmStudent student, int batchSize) {
        this.student = Objects.requireNonNull(student, "student");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize = " + batchSize + ": must be at least 1");
        }
        this.batchSize = batchSize;
    }

    /**
     * @param sentences word lists (split by {@link WordSplitter})
     * @param manager owner of the scratch tensors
     * @return each sentence's logits {@code [K]}
     */
    public List<float[]> logits(List<List<String>> sentences, NDManager manager) {
        int k = student.model().shape().numLabels();
        List<float[]> out = new ArrayList<>(sentences.size());
        for (int from = 0; from < sentences.size(); from += batchSize) {
            List<int[]> ids = new ArrayList<>();
            for (List<String> s : sentences.subList(from, Math.min(sentences.size(), from + batchSize))) {
                ids.add(student.vocabulary().ids(s));
            }
            try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, 0, false, false)) {
                float[] flat = student.model().logits(tape, WordBatch.of(ids)).value().toFloatArray();
                for (int r = 0; r < ids.size(); r++) {
                    float[] row = new float[k];
                    System.arraycopy(flat, r * k, row, 0, k);
                    out.add(row);
                }
            }
        }
        return out;
    }

    /**
     * @param sentences word lists
     * @param manager owner of the scratch tensors
     * @return each sentence's arg-max label id
     */
    public int[] predict(List<List<String>> sentences, NDManager manager) {
        return argMax(logits(sentences, manager));
    }

    /**
     * @param logits rows of logits
     * @return each row's arg-max (the first of ties)
     */
    public static int[] argMax(List<float[]> logits) {
        int[] out = new int[logits.size()];
        for (int i = 0; i < out.length; i++) {
            float[] row = logits.get(i);
            int best = 0;
            for (int c = 1; c < row.length; c++) {
                if (row[c] > row[best]) {
                    best = c;
                }
            }
            out[i] = best;
        }
        return out;
    }
}
