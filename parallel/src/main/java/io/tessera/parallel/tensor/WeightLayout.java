package io.tessera.parallel.tensor;

/**
 * How a linear layer stores its weight, so that checkpoints copy without transposing.
 *
 * <ul>
 *   <li>{@link #OUT_IN}: {@code [out, in]}, {@code y = x·Wᵀ + b}, as {@code torch.nn.Linear} (BERT).
 *   <li>{@link #IN_OUT}: {@code [in, out]}, {@code y = x·W + b}, as Hugging Face's {@code Conv1D}
 *       (GPT-2).
 * </ul>
 *
 * <p>Thread safety: immutable enum.
 */
public enum WeightLayout {
    /** {@code [out, in]}, as {@code torch.nn.Linear}. */
    OUT_IN,
    /** {@code [in, out]}, as Hugging Face's GPT-2 {@code Conv1D}. */
    IN_OUT;

    /** @return the weight dimension that indexes output features */
    public int outputDim() {
        return this == OUT_IN ? 0 : 1;
    }

    /** @return the weight dimension that indexes input features */
    public int inputDim() {
        return this == OUT_IN ? 1 : 0;
    }

    long[] shape(long in, long out) {
        return this == OUT_IN ? new long[] {out, in} : new long[] {in, out};
    }
}
