package io.tessera.optim.zero;

import io.tessera.optim.plan.TrainingPrecision;

/**
 * Bytes of model state one rank holds, measured from the buffers actually allocated, beside the ZeRO
 * paper's formula for its stage (Rajbhandari et al., 2020), with Ψ the parameters of this rank's
 * tensor-parallel slice, Nd the data-parallel degree and, in fp32 training, 4-byte parameters and
 * gradients and K = 8 (Adam's m and v):
 *
 * <pre>
 *   stage 0   (4 + 4 + K)·Ψ
 *   stage 1    4·Ψ + 4·Ψ + K·Ψ/Nd
 *   stage 2    4·Ψ + (4 + K)·Ψ/Nd
 *   stage 3   (4 + 4 + K)·Ψ/Nd
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param stage the ZeRO stage
 * @param psi Ψ
 * @param dataParallel Nd
 * @param parameters measured parameter bytes
 * @param gradients measured gradient bytes
 * @param optimizerStates measured optimizer-state bytes
 */
public record ModelStateMemory(int stage, long psi, int dataParallel, long parameters, long gradients, long optimizerStates) {

    /** @return measured total */
    public long total() {
        return parameters + gradients + optimizerStates;
    }

    /** @return the formula's total for this stage in fp32 */
    public double expected() {
        TrainingPrecision p = TrainingPrecision.FP32;
        double params = p.parameterBytes() * (double) psi;
        double grads = p.gradientBytes() * (double) psi;
        double states = p.optimizerStateBytes() * (double) psi;
        return switch (stage) {
            case 0 -> params + grads + states;
            case 1 -> params + grads + states / dataParallel;
            case 2 -> params + (grads + states) / dataParallel;
            case 3 -> (params + grads + states) / dataParallel;
            default -> throw new IllegalStateException("ZeRO stage " + stage);
        };
    }

    /** @return measured ÷ formula */
    public double ratio() {
        return total() / expected();
    }

    @Override
    public String toString() {
        return String.format("ZeRO-%d model states per rank: params %s, grads %s, optimizer %s, total %s; formula %s"
                        + " (measured/formula %.3f; Ψ=%d, Nd=%d)",
                stage, bytes(parameters), bytes(gradients), bytes(optimizerStates), bytes(total()), bytes(expected()), ratio(),
                psi, dataParallel);
    }

    private static String bytes(double b) {
        return b >= 1e6 ? String.format("%.2f MB", b / 1e6) : String.format("%.1f kB", b / 1e3);
    }
}
