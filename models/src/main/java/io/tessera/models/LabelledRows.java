package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;

/**
 * The positions of a {@code [B, T]} label tensor that carry a label (not -100), and the rows of a
 * {@code [B, T, C]} tensor at those positions: a masked-LM head needs its vocabulary projection only
 * where a token was masked (about 15% of positions), as Google's original BERT ({@code
 * masked_lm_positions}) and NVIDIA's BERT compute it.
 *
 * <pre>
 *   positions(labels)     = flat indices n = b·T + t with labels[b, t] ≠ -100, ascending        [N] int64
 *   rows(x, positions)    = x.reshape(B·T, C)[positions]                                          [N, C]
 *   labels(y, positions)  = y.reshape(B·T)[positions]                                             [N]
 * </pre>
 *
 * <p>{@link #rows} is a {@code gather} along dim 0, so inside a tape node libtorch's autograd gives its
 * backward, a scatter of the {@code [N, C]} cotangent into zeros (each position once: no summation,
 * no ordering to pin). The loss over the selected rows equals the loss over all positions with -100
 * ignored, and so does every gradient; only the summation order of the decoder's weight gradient
 * changes (fewer, the same non-zero terms).
 *
 * <p>Thread safety: stateless.
 */
public final class LabelledRows {

    private LabelledRows() {}

    /**
     * @param labels {@code [B, T]} (or any shape) integer labels, -100 where none
     * @return the flat indices of the labelled positions, ascending, {@code [N]} int64, in {@code labels}' manager
     */
    public static NDArray positions(NDArray labels) {
        NDArray labelled = labels.reshape(-1).neq(VocabParallelCrossEntropy.IGNORE_INDEX);
        return labelled.nonzero().reshape(-1).toType(DataType.INT64, false);
    }

    /**
     * @param x {@code [B, T, C]} (any leading shape) hidden states
     * @param positions {@link #positions} of a label tensor of shape {@code [B, T]}
     * @return {@code [N, C]}, the rows at those positions
     */
    public static NDArray rows(NDArray x, NDArray positions) {
        Shape s = x.getShape();
        long c = s.get(s.dimension() - 1);
        long n = positions.getShape().get(0);
        NDArray index = positions.reshape(n, 1).broadcast(new Shape(n, c));
        return x.reshape(-1, c).gather(index, 0);
    }

    /**
     * @param labels {@code [B, T]} labels
     * @param positions {@link #positions} of {@code labels}
     * @return {@code [N]}, the labels at those positions (none is -100)
     */
    public static NDArray labels(NDArray labels, NDArray positions) {
        NDArray flat = labels.reshape(-1).toType(DataType.INT64, false);
        return flat.gather(positions, 0);
    }
}
