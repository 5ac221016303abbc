package io.tessera.parallel.comm;

/**
 * bfloat16 conversions: a bf16 value is the upper 16 bits of an fp32 value.
 *
 * <p>Thread safety: stateless.
 */
public final class Bf16 {

    private Bf16() {}

    /**
     * @param bits a bf16 value
     * @return the same value as fp32 (exact)
     */
    public static float widen(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * Rounds an fp32 value to the nearest bf16, ties to even; NaN stays a (quiet) NaN.
     *
     * @param value the fp32 value
     * @return the bf16 bits
     */
    public static short round(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }
}
