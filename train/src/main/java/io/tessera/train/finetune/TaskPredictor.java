package io.tessera.train.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Compute;
import io.tessera.core.tape.Tape;
import io.tessera.models.TokenBatch;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.models.heads.ClassifierOutput;
import io.tessera.parallel.ParallelContext;
import io.tessera.train.BatchTensors;
import io.tessera.train.data.Batch;
import io.tessera.train.data.Example;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Arg-max predictions of a classifier over a whole {@link TaskDataset}, on any layout: row {@code i}
 * is predicted by data-parallel rank {@code i mod dp}, in batches of (trimmed) rows, and the
 * predictions are summed over the data-parallel group so that every rank ends with all of them.
 *
 * <pre>
 *   sequence classification   row i → [label id]
 *   token classification      row i → one label id per word, read from its first sub-token ({@link TokenAlignment})
 * </pre>
 *
 * <p>Collective over the data-parallel group (each rank computes its rows; the tensor-parallel group
 * computes every batch together, its logits replicated). Under ZeRO-3 call it inside
 * {@code withFullParameters}.
 *
 * <p>Thread safety: stateless between calls; one call at a time per rank.
 */
public final class TaskPredictor {

    /**
     * What a pass over a dataset gave.
     *
     * @param labels per row, the predicted label ids
     * @param loss the mean loss over the labelled rows or words, NaN when none is labelled
     */
    public record Predictions(List<int[]> labels, double loss) {}

    private final ClassifierModel model;
    private final ParallelContext ctx;
    private final Compute compute;
    private final int batchSize;

    /**
     * @param model the classifier, allocated, with its weights
     * @param compute the GEMM strategy of the tapes
     * @param batchSize rows per forward pass on one rank
     */
    public TaskPredictor(ClassifierModel model, Compute compute, int batchSize) {
        this.model = Objects.requireNonNull(model, "model");
        this.ctx = model.parallel();
        this.compute = Objects.requireNonNull(compute, "compute");
        if (batchSize < 1) {
            throw new IllegalArgumentException("prediction batch size " + batchSize + ": must be at least 1");
        }
        this.batchSize = batchSize;
    }

    /**
     * @param data the rows (their labels are ignored)
     * @param task what the model predicts
     * @param outside the label id read back for words cut off by the maximum length (token classification)
     * @param manager owner of the scratch tensors
     * @param progress called on rank 0 with the rows done so far after each batch, or null
     * @return per row, the predicted label ids (see above), and the loss where the rows carry labels
     */
    public Predictions predict(TaskDataset data, FineTuneTask task, int outside, NDManager manager, IntConsumer progress) {
        int n = data.size();
        int dp = ctx.dataSize();
        List<Integer> mine = new ArrayList<>();
        for (int i = ctx.dataRank(); i < n; i += dp) {
            mine.add(i);
        }
        // Every rank runs the same number of batches (the tensor-parallel group must meet in each).
        int perRank = (n + dp - 1) / dp;
        int rounds = (perRank + batchSize - 1) / batchSize;
        int width = task == FineTuneTask.SEQUENCE_CLASSIFICATION ? 1 : maxWords(data);
        double[] flat = new double[n * width + 2]; // + loss sum, labelled count
        for (int r = 0; r < rounds; r++) {
            int from = r * batchSize;
            int to = Math.min(mine.size(), from + batchSize);
            if (from < to) {
                List<Example> rows = new ArrayList<>(to - from);
                for (int k = from; k < to; k++) {
                    rows.add(data.example(0, mine.get(k)));
                }
                Batch b = Batch.of(rows).trimmed();
                int[] predicted = argMax(b, task, manager, flat);
                for (int k = 0; k < rows.size(); k++) {
                    int row = mine.get(from + k);
                    if (task == FineTuneTask.SEQUENCE_CLASSIFICATION) {
                        flat[row] = predicted[k * b.seqLength()] + 1; // + 1: 0 marks "not this rank's row"
                    } else {
                        int[] tokens = new int[b.seqLength()];
                        System.arraycopy(predicted, k * b.seqLength(), tokens, 0, tokens.length);
                        int[] words = data.alignment(row).wordPredictions(tokens, outside);
                        for (int w = 0; w < words.length; w++) {
                            flat[row * width + w] = words[w] + 1;
                        }
                    }
                }
            }
            if (progress != null && ctx.rank() == 0) {
                progress.accept(Math.min(n, (r + 1) * dp * batchSize));
            }
        }
        double[] all = dp == 1 ? flat : BatchTensors.allReduceSum(ctx.data(), flat, manager);
        List<int[]> out = new ArrayList<>(n);
        double count = all[n * width + 1];
        for (int i = 0; i < n; i++) {
            int words = task == FineTuneTask.SEQUENCE_CLASSIFICATION ? 1 : data.alignment(i).wordStarts().length;
            int[] p = new int[words];
            for (int w = 0; w < words; w++) {
                p[w] = (int) Math.round(all[i * width + w]) - 1;
            }
            out.add(p);
        }
        return new Predictions(out, count > 0 ? all[n * width] / count : Double.NaN);
    }

    /**
     * The raw logits of a sequence classifier for every row, all computed on this rank (a data-parallel
     * group of one; the tensor-parallel group, if any, computes each batch together): what a
     * distillation teacher hands its student.
     *
     * @param data the rows (their labels, if any, are ignored)
     * @param manager owner of the scratch tensors
     * @return per row, its {@code K} logits
     * @throws IllegalStateException on a layout with more than one data-parallel rank
     */
    public List<float[]> sequenceLogits(TaskDataset data, NDManager manager) {
        if (ctx.dataSize() != 1) {
            throw new IllegalStateException("sequenceLogits computes every row on one rank; got a data-parallel group of "
                    + ctx.dataSize() + " ranks; run it with dp = 1");
        }
        List<float[]> out = new ArrayList<>(data.size());
        for (int from = 0; from < data.size(); from += batchSize) {
            List<Example> rows = new ArrayList<>();
            for (int i = from; i < Math.min(data.size(), from + batchSize); i++) {
                rows.add(data.example(0, i));
            }
            Batch b = Batch.of(rows).trimmed();
            try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, 0, false, false).gemm(compute.gemm())) {
                NDArray logits = model.forward(tape, TaskBatches.of(scope, b, FineTuneTask.SEQUENCE_CLASSIFICATION, false)).logits().value();
                int k = (int) logits.getShape().get(1);
                float[] flat = logits.toFloatArray();
                for (int r = 0; r < rows.size(); r++) {
                    float[] row = new float[k];
                    System.arraycopy(flat, r * k, row, 0, k);
                    out.add(row);
                }
            }
        }
        return out;
    }

    /**
     * Per row and position, the arg-max label (sequence classification: the row's label at position 0);
     * adds the batch's loss sum and labelled count to the last two slots of {@code sums}.
     */
    private int[] argMax(Batch b, FineTuneTask task, NDManager manager, double[] sums) {
        try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, 0, false, false).gemm(compute.gemm())) {
            TokenBatch tb = TaskBatches.of(scope, b, task, true);
            long labelled = model.labelCounts(tb).values().stream().mapToLong(Long::longValue).sum();
            ClassifierOutput output = labelled > 0 ? model.forward(tape, tb) : model.forward(tape, TaskBatches.of(scope, b, task, false));
            if (labelled > 0) {
                sums[sums.length - 2] += output.loss().value().getFloat() * labelled;
                sums[sums.length - 1] += labelled;
            }
            NDArray logits = output.logits().value();
            long[] best = logits.argMax(-1).toType(DataType.INT64, false).toLongArray();
            int t = b.seqLength();
            int[] out = new int[b.batchSize() * t];
            if (logits.getShape().dimension() == 2) { // [B, K]
                for (int i = 0; i < b.batchSize(); i++) {
                    out[i * t] = (int) best[i];
                }
            } else {                                   // [B, T, K]
                for (int i = 0; i < out.length; i++) {
                    out[i] = (int) best[i];
                }
            }
            return out;
        }
    }

    private static int maxWords(TaskDataset data) {
        int max = 1;
        for (int i = 0; i < data.size(); i++) {
            max = Math.max(max, data.alignment(i).wordStarts().length);
        }
        return max;
    }
}
