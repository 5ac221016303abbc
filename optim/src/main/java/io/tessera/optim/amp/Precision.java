package io.tessera.optim.amp;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The arithmetic a training run computes in. The master parameters, their gradients and the optimiser
 * states are fp32 in every case; only the forward and backward passes change.
 *
 * <table>
 *   <caption>What each precision does</caption>
 *   <tr><th>flag</th><th>forward/backward</th><th>loss scaling</th><th>status</th></tr>
 *   <tr><td>{@code fp32}</td><td>fp32</td><td>none</td><td>supported</td></tr>
 *   <tr><td>{@code fp16}</td><td>fp16 matrix products and activations; LayerNorm statistics, softmax
 *       (with the mask bias) and the losses in fp32</td><td>dynamic ({@link DynamicLossScaler})</td>
 *       <td>supported, CPU included</td></tr>
 *   <tr><td>{@code bf16}</td><td>—</td><td>—</td><td>refused: DJL 0.35.1's PyTorch JNI has no bf16
 *       mapping</td></tr>
 * </table>
 *
 * <p>Thread safety: immutable enum.
 */
public enum Precision {
    /** Everything in fp32. */
    FP32("fp32"),
    /** fp16 compute over fp32 master weights, with dynamic loss scaling. */
    FP16("fp16"),
    /** bfloat16 compute: recognised so that a request for it fails with an explanation, never supported. */
    BF16("bf16");

    private final String flag;

    Precision(String flag) {
        this.flag = flag;
    }

    /** @return the name on the command line ({@code fp32}, {@code fp16}, {@code bf16}) */
    public String flag() {
        return flag;
    }

    /**
     * Parses a {@code --precision} value.
     *
     * @param value {@code fp32}, {@code fp16} or {@code bf16} (case-insensitive)
     * @return the precision
     * @throws IllegalArgumentException naming the value and the choices
     */
    public static Precision parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (Precision p : values()) {
            if (p.flag.equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("--precision " + value + ": choose fp32, fp16 (mixed precision with dynamic loss"
                + " scaling) or bf16 (not available with DJL 0.35.1)");
    }

    /**
     * @return the type of the parameters and activations the forward and backward passes compute with
     * @throws UnsupportedOperationException for {@link #BF16}, see {@link #requireSupported()}
     */
    public DataType computeType() {
        requireSupported();
        return this == FP16 ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /** @return whether the loss is scaled and steps may be skipped for overflow (fp16) */
    public boolean scalesLoss() {
        return this == FP16;
    }

    /**
     * Fails for a precision this build cannot run, before anything is allocated: no bf16 tensor is ever
     * created, since creating one through DJL 0.35.1's PyTorch JNI aborts the JVM.
     *
     * @throws UnsupportedOperationException for {@link #BF16}, naming the cause and the alternatives
     */
    public void requireSupported() {
        if (this == BF16) {
            throw new UnsupportedOperationException(unsupportedMessage());
        }
    }

    /** @return why bf16 cannot run and what to use instead, for error messages */
    public static String unsupportedMessage() {
        return "--precision bf16: DJL 0.35.1's PyTorch JNI has no bfloat16 type mapping (creating or converting to a"
                + " BFLOAT16 tensor aborts the JVM with 'terminate called without an active exception'), so Tessera"
                + " refuses bf16 before allocating anything; use --precision fp16 (fp16 compute, fp32 master weights,"
                + " dynamic loss scaling) or --precision fp32";
    }
}
