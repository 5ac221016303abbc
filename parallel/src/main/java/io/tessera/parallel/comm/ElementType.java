package io.tessera.parallel.comm;

import ai.djl.ndarray.types.DataType;

/**
 * Element types the communicators move and reduce. Separate from DJL's {@link DataType} because
 * bfloat16 cannot be represented as an NDArray in DJL 0.35.1 (creating one aborts the JVM); bf16 data
 * therefore travels only through the {@link java.nio.ByteBuffer} overloads of {@link Communicator}.
 *
 * <p>Thread safety: immutable.
 */
public enum ElementType {
    /** IEEE 754 binary32. */
    FLOAT32(4),
    /** IEEE 754 binary16. */
    FLOAT16(2),
    /** bfloat16 (the upper half of a binary32); reduced in fp32 and rounded to nearest even. */
    BFLOAT16(2),
    /** Two's complement 32-bit integer. */
    INT32(4),
    /** Two's complement 64-bit integer. */
    INT64(8);

    private final int bytes;

    ElementType(int bytes) {
        this.bytes = bytes;
    }

    /** @return bytes per element */
    public int bytes() {
        return bytes;
    }

    /** @return whether the type is an integer type */
    public boolean isInteger() {
        return this == INT32 || this == INT64;
    }

    /**
     * The type of an NDArray. Never returns {@link #BFLOAT16}: a bf16 array cannot exist in DJL 0.35.1.
     *
     * @param type DJL's type
     * @param op the operation asking, for the message
     * @return the matching element type
     * @throws UnsupportedOperationException for types the communicators do not carry
     */
    public static ElementType of(DataType type, String op) {
        switch (type) {
            case FLOAT32:
                return FLOAT32;
            case FLOAT16:
                return FLOAT16;
            case INT32:
                return INT32;
            case INT64:
                return INT64;
            case BFLOAT16:
                throw new UnsupportedOperationException(op + ": bfloat16 NDArrays are not supported by DJL 0.35.1;"
                        + " pass the data as a direct ByteBuffer with ElementType.BFLOAT16 instead");
            default:
                throw new UnsupportedOperationException(op + ": data type " + type + " cannot be communicated;"
                        + " supported types are float32, float16, int32, int64 (and bfloat16 through ByteBuffer)");
        }
    }

    /**
     * DJL's type for this element type, for the types that have an NDArray form.
     *
     * @param op the operation asking, for the message
     * @return DJL's type
     * @throws UnsupportedOperationException for {@link #BFLOAT16}
     */
    public DataType toDataType(String op) {
        switch (this) {
            case FLOAT32:
                return DataType.FLOAT32;
            case FLOAT16:
                return DataType.FLOAT16;
            case INT32:
                return DataType.INT32;
            case INT64:
                return DataType.INT64;
            default:
                throw new UnsupportedOperationException(op + ": bfloat16 has no NDArray form in DJL 0.35.1;"
                        + " it is reduced in Java instead");
        }
    }
}
