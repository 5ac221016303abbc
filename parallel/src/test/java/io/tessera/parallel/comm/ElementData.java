package io.tessera.parallel.comm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Test data in every element type: random values that the type represents exactly, their encoding in
 * direct buffers, and decoding back to doubles. fp16 goes through libtorch's own conversion.
 */
public final class ElementData {

    private ElementData() {}

    /**
     * Random values for one rank: gaussians for fp32, multiples of 1/8 in [-64, 64) for fp16, multiples
     * of 1/4 in [-16, 16) for bf16, integers in [-1000, 1000) for int types.
     */
    public static double[] random(ElementType type, int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            switch (type) {
                case FLOAT32:
                    v[i] = (float) r.nextGaussian();
                    break;
                case FLOAT16:
                    v[i] = (r.nextInt(1024) - 512) / 8.0;
                    break;
                case BFLOAT16:
                    v[i] = (r.nextInt(128) - 64) / 4.0;
                    break;
                default:
                    v[i] = r.nextInt(2000) - 1000;
                    break;
            }
        }
        return v;
    }

    /** Encodes values into a new native-order direct buffer. */
    public static ByteBuffer encode(ElementType type, double[] values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * type.bytes()).order(ByteOrder.nativeOrder());
        if (type == ElementType.FLOAT16) {
            try (NDManager m = NDManager.newBaseManager()) {
                float[] f = new float[values.length];
                for (int i = 0; i < f.length; i++) {
                    f[i] = (float) values[i];
                }
                NDArray h = m.create(f).toType(DataType.FLOAT16, false);
                b.put(h.toByteBuffer());
                b.flip();
                return b;
            }
        }
        for (double v : values) {
            switch (type) {
                case FLOAT32:
                    b.putFloat((float) v);
                    break;
                case BFLOAT16:
                    b.putShort(Bf16.round((float) v));
                    break;
                case INT32:
                    b.putInt((int) v);
                    break;
                default:
                    b.putLong((long) v);
                    break;
            }
        }
        b.flip();
        return b;
    }

    /** Decodes the buffer's elements between position and limit. */
    public static double[] decode(ElementType type, ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate().order(ByteOrder.nativeOrder());
        int n = b.remaining() / type.bytes();
        double[] v = new double[n];
        if (type == ElementType.FLOAT16) {
            try (NDManager m = NDManager.newBaseManager()) {
                ByteBuffer copy = ByteBuffer.allocateDirect(b.remaining()).order(ByteOrder.nativeOrder());
                copy.put(b).flip();
                float[] f = m.create(copy, new Shape(n), DataType.FLOAT16).toType(DataType.FLOAT32, false).toFloatArray();
                for (int i = 0; i < n; i++) {
                    v[i] = f[i];
                }
                return v;
            }
        }
        for (int i = 0; i < n; i++) {
            switch (type) {
                case FLOAT32:
                    v[i] = b.getFloat();
                    break;
                case BFLOAT16:
                    v[i] = Bf16.widen(b.getShort());
                    break;
                case INT32:
                    v[i] = b.getInt();
                    break;
                default:
                    v[i] = b.getLong();
                    break;
            }
        }
        return v;
    }

    /** Element-wise reduction of the ranks' values in fp64; AVG of integers truncates toward zero. */
    public static double[] reduce(double[][] perRank, ReduceOp op, ElementType type) {
        int n = perRank[0].length;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double acc = perRank[0][i];
            for (int r = 1; r < perRank.length; r++) {
                double x = perRank[r][i];
                acc = op == ReduceOp.MAX ? Math.max(acc, x) : op == ReduceOp.MIN ? Math.min(acc, x) : acc + x;
            }
            if (op == ReduceOp.AVG) {
                acc = type.isInteger() ? (long) (acc / perRank.length) : acc / perRank.length;
            }
            out[i] = acc;
        }
        return out;
    }

    /** Tolerance of a reduction over {@code ranks} values of magnitude up to {@code scale}. */
    public static double tolerance(ElementType type, int ranks, double scale) {
        switch (type) {
            case FLOAT32:
                return 1e-6 * ranks * scale;
            case FLOAT16:
                return 1e-3 * ranks * scale;
            case BFLOAT16:
                return 8e-3 * ranks * scale;
            default:
                return 0;
        }
    }
}
