package io.tessera.optim.plan;

/**
 * Bytes per parameter of the three model states under Adam-style optimisers (Adam, AdamW, LAMB: two
 * moments per parameter), as the ZeRO paper counts them.
 *
 * <table>
 *   <caption>Bytes per parameter</caption>
 *   <tr><th></th><th>parameters</th><th>gradients</th><th>optimiser states (K)</th></tr>
 *   <tr><td>{@link #MIXED_FP16}</td><td>2 (fp16)</td><td>2 (fp16)</td><td>12 (fp32 master copy, m, v)</td></tr>
 *   <tr><td>{@link #FP32}</td><td>4</td><td>4</td><td>8 (m, v; the parameters are the master copy)</td></tr>
 * </table>
 *
 * <p>Thread safety: immutable enum, safe to share.
 */
public enum TrainingPrecision {
    /** Mixed-precision training: fp16 parameters and gradients, fp32 master weights and moments (K = 12). */
    MIXED_FP16(2, 2, 12),
    /** Full fp32 training: fp32 parameters, gradients and moments (K = 8). */
    FP32(4, 4, 8);

    private final int parameterBytes;
    private final int gradientBytes;
    private final int optimizerStateBytes;

    TrainingPrecision(int parameterBytes, int gradientBytes, int optimizerStateBytes) {
        this.parameterBytes = parameterBytes;
        this.gradientBytes = gradientBytes;
        this.optimizerStateBytes = optimizerStateBytes;
    }

    /** @return bytes per parameter for the parameters the forward and backward passes read */
    public int parameterBytes() {
        return parameterBytes;
    }

    /** @return bytes per parameter for the gradients */
    public int gradientBytes() {
        return gradientBytes;
    }

    /** @return K, bytes per parameter for the optimiser states */
    public int optimizerStateBytes() {
        return optimizerStateBytes;
    }

    /** @return bytes per parameter of all three states together (16 for mixed precision and for fp32) */
    public int totalBytes() {
        return parameterBytes + gradientBytes + optimizerStateBytes;
    }
}
