package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.parallel.tensor.VocabParallelCrossEntropy;

/**
 * The losses of small, replicated classifier logits (next-sentence, sequence and token classification),
 * computed inside a tape node on every rank alike:
 * <pre>
 *   crossEntropy(z [N, K], y [N])     = −Σ_{n: y_n ≠ -100} log softmax(z_n)[y_n] / max(1, #{n: y_n ≠ -100})
 *   meanSquaredError(z [N], y [N])    = Σ_n (z_n − y_n)² / N
 * </pre>
 * The log-softmax of fp16 logits is taken in fp32 (its dtype argument widens them inside the autograd
 * graph; DJL's {@code toType} would cut it), so the loss is fp32 as with {@link VocabParallelCrossEntropy}.
 *
 * <p>Thread safety: stateless.
 */
public final class ClassifierLoss {

    private ClassifierLoss() {}

    /**
     * Mean cross-entropy, -100 ignored (0 if none remain).
     *
     * @param logits {@code [N, K]}
     * @param targets {@code [N]} integer classes or -100
     * @return the scalar mean
     */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        long n = targets.getShape().get(0);
        NDArray scored = targets.neq(VocabParallelCrossEntropy.IGNORE_INDEX);
        NDArray safe = targets.toType(DataType.INT64, false).mul(scored.toType(DataType.INT64, false));
        NDArray logProbs = logits.getDataType() == DataType.FLOAT16
                ? JniUtils.logSoftmax((PtNDArray) logits, 1, DataType.FLOAT32) : logits.logSoftmax(1);
        NDArray picked = logProbs.gather(safe.reshape(n, 1), 1).reshape(n);
        NDArray weight = scored.toType(logProbs.getDataType(), false);
        return picked.mul(weight).sum().neg().div(weight.sum().maximum(1f));
    }

    /**
     * Mean squared error in fp32 (Hugging Face's {@code MSELoss} on the squeezed logits).
     *
     * @param predictions {@code [N]}
     * @param targets {@code [N]} floats
     * @return the scalar mean
     */
    public static NDArray meanSquaredError(NDArray predictions, NDArray targets) {
        NDArray p = predictions.getDataType() == DataType.FLOAT32 ? predictions : predictions.toType(DataType.FLOAT32, false);
        NDArray d = p.sub(targets.toType(DataType.FLOAT32, false));
        return d.mul(d).mean();
    }
}
