package io.tessera.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/**
 * Small in-place helpers that DJL spells awkwardly.
 *
 * <p>Thread safety: stateless; the arrays must not be used concurrently.
 */
public final class Tensors {

    private static final NDIndex ALL = new NDIndex("...");

    private Tensors() {}

    /**
     * Copies {@code src} into the storage of {@code dst} (which may be a view of a larger buffer).
     *
     * @param dst destination, same shape as src
     * @param src source, of any type (converted) and on any device (copied over first)
     */
    public static void copyInto(NDArray dst, NDArray src) {
        if (!dst.getShape().equals(src.getShape())) {
            throw new IllegalArgumentException("copyInto: destination " + dst.getShape() + " and source " + src.getShape()
                    + " differ in shape");
        }
        if (!src.getDevice().equals(dst.getDevice())) {
            try (NDArray moved = src.toDevice(dst.getDevice(), true)) {
                copyInto(dst, moved);
            }
            return;
        }
        dst.set(ALL, src.getDataType() == dst.getDataType() ? src : src.toType(dst.getDataType(), false));
    }

    /**
     * Fills {@code dst} in place.
     *
     * @param dst the array
     * @param value the value
     */
    public static void fill(NDArray dst, float value) {
        dst.set(ALL, value);
    }

    /**
     * The largest relative difference {@code max|a-b| / max(max|b|, tiny)}, for tests and checks.
     *
     * @param a first array
     * @param b reference
     * @return the relative difference
     */
    public static double maxRelativeDifference(NDArray a, NDArray b) {
        double diff = a.toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
                .sub(b.toType(ai.djl.ndarray.types.DataType.FLOAT64, false)).abs().max().getDouble();
        double scale = b.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).abs().max().getDouble();
        return diff / Math.max(scale, 1e-30);
    }
}
