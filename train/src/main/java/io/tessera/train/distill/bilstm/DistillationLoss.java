package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;

/**
 * The student's loss on a batch: the mean squared error between its logits and the teacher's, mixed
 * with the cross-entropy against the gold labels of the rows that have one (original, un-augmented
 * sentences), or the cross-entropy alone for the no-distillation baseline.
 *
 * <pre>
 *   legend: B rows, K labels, z the student's logits [B, K], t the teacher's [B, K], G the rows with a gold label y
 *   MSE  = (1 / (B·K)) · Σ_b Σ_k (z_bk − t_bk)²                              (torch.nn.functional.mse_loss, mean)
 *   CE   = (1 / |G|) · Σ_{b∈G} −log softmax(z_b)[y_b]                        (0 when G is empty)
 *   distillation:  loss = α·CE + (1 − α)·MSE                                  (α = 0: Tang et al.'s pure MSE)
 *   baseline:      loss = CE over every row
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param alpha α in [0, 1], the weight of the gold cross-entropy; ignored by the baseline
 * @param distill whether the teacher's logits enter (false: the gold-label baseline)
 */
public record DistillationLoss(double alpha, boolean distill) {

    /** A row without a gold label. */
    public static final int NO_LABEL = -1;

    public DistillationLoss {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha = " + alpha + ": the weight of the gold cross-entropy must be in [0, 1]");
        }
    }

    /**
     * Records the loss as one tape node.
     *
     * @param tape the step's tape
     * @param logits the student's logits {@code [B, K]}
     * @param teacher the teacher's logits, row-major {@code [B, K]}; null for the baseline
     * @param gold each row's gold label id, or {@link #NO_LABEL}
     * @return the scalar loss
     */
    public Var apply(Tape tape, Var logits, float[] teacher, int[] gold) {
        NDManager m = tape.manager();
        long b = logits.value().getShape().get(0);
        long k = logits.value().getShape().get(1);
        if (gold.length != b || (distill && (teacher == null || teacher.length != b * k))) {
            throw new IllegalArgumentException("loss of " + b + " rows × " + k + " labels got " + gold.length + " gold labels and "
                    + (teacher == null ? "no" : teacher.length) + " teacher logits");
        }
        Var t = tape.constant(distill ? m.create(teacher, new Shape(b, k)) : m.zeros(new Shape(b, k)));
        Var y = tape.constant(m.create(gold));
        return tape.apply1("distillation_loss", false, (ctx, in) -> new NDList(compute(in.get(0), in.get(1), in.get(2))), logits, t, y);
    }

    /**
     * The loss above on tensors.
     *
     * @param z the student's logits {@code [B, K]}
     * @param t the teacher's logits {@code [B, K]} (unused by the baseline)
     * @param gold int32 {@code [B]}, {@link #NO_LABEL} where a row has none
     * @return the scalar loss
     */
    public NDArray compute(NDArray z, NDArray t, NDArray gold) {
        NDArray ce = crossEntropy(z, gold);
        if (!distill) {
            return ce;
        }
        NDArray mse = z.sub(t).square().mean();
        return alpha == 0 ? mse : ce.mul((float) alpha).add(mse.mul((float) (1 - alpha)));
    }

    private static NDArray crossEntropy(NDArray z, NDArray gold) {
        NDArray labelled = gold.gte(0);
        NDArray safe = gold.maximum(0).toType(DataType.INT64, false).reshape(-1, 1);
        NDArray nll = z.logSoftmax(-1).gather(safe, 1).reshape(-1).neg();
        NDArray weights = labelled.toType(DataType.FLOAT32, false);
        return nll.mul(weights).sum().div(weights.sum().maximum(1f));
    }
}
