package io.tessera.parallel.comm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.TensorMemory;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.EnumMap;
import java.util.Map;

/**
 * Element-wise reduction of one received chunk into an accumulator, both direct buffers. The arithmetic
 * runs in libtorch on zero-copy views ({@link TensorMemory#wrap}); bfloat16, which DJL cannot wrap, is
 * widened to fp32 in Java and rounded back to nearest even.
 *
 * <p>Thread safety: not thread-safe; owned by one communication thread.
 */
final class ChunkReducer implements AutoCloseable {

    /**
     * Elements reduced per libtorch call on a thread that {@link SerialTorch} could not pin: libtorch's
     * grain size, below which an element-wise kernel runs on the calling thread. Larger calls would wake
     * libtorch's OpenMP pool, whose spinning workers compete with the socket threads for the cores. A
     * pinned thread reduces up to {@code 4 × PULL_BYTES} per call, which saves the per-call wrapping.
     */
    static final int PIECE_ELEMENTS = 32768;

    private final NDManager manager = Torch.engine().newBaseManager(Device.cpu());
    private NDArray scratchArray;
    private ByteBuffer scratch;
    private NDArray pieceArray;
    private ByteBuffer pieces;
    private final Map<ElementType, NDArray> pieceViews = new EnumMap<>(ElementType.class);

    /**
     * Bytes pulled from a peer at once before they are reduced: large enough that the system calls and
     * libtorch calls are few, small enough to stay in the core's L2 cache (2 MB on the build machine's
     * Xeon) until the reduction reads them. Measured with {@code bench collectives} (2 and 4 processes,
     * 16 and 64 MB): 2 MB gave 1.50–1.92× Gloo's bus bandwidth, 512 KB 1.36–1.74×, 128 KB 1.02–1.75×.
     */
    static final int PULL_BYTES = 2 * 1024 * 1024;

    /**
     * A small buffer for a block pulled from a peer, reused so that it stays in cache; separate from
     * {@link #scratch(int)}.
     *
     * @param bytes at most {@link #PULL_BYTES}
     * @return a native-order direct buffer of exactly {@code bytes}
     */
    ByteBuffer piece(int bytes) {
        if (pieces == null) {
            pieceArray = manager.create(new Shape(PULL_BYTES), DataType.INT8);
            pieces = TensorMemory.buffer(pieceArray);
        }
        return pieces.slice(0, bytes).order(ByteOrder.nativeOrder());
    }

    /**
     * Working memory owned by this reducer, reused across operations and grown on demand.
     *
     * @param bytes bytes needed
     * @return a native-order direct buffer of exactly {@code bytes}, contents undefined
     */
    ByteBuffer scratch(int bytes) {
        if (scratch == null || scratch.capacity() < bytes) {
            if (scratchArray != null) {
                scratchArray.close();
            }
            scratchArray = manager.create(new Shape(Math.max(bytes, 1)), DataType.INT8);
            scratch = TensorMemory.buffer(scratchArray);
        }
        return scratch.slice(0, bytes).order(ByteOrder.nativeOrder());
    }

    /**
     * {@code dst[i] = op(dst[i], src[i])} for the elements between each buffer's position and limit.
     *
     * @param dst accumulator, overwritten
     * @param src received values, same byte length
     * @param type element type
     * @param op SUM, MAX or MIN (AVG is a SUM followed by {@link #divide})
     */
    void reduce(ByteBuffer dst, ByteBuffer src, ElementType type, ReduceOp op) {
        if (dst.remaining() == 0) {
            return;
        }
        if (type == ElementType.BFLOAT16) {
            reduceBf16(dst, src, op);
            return;
        }
        DataType dt = type.toDataType("reduce");
        int step = callBytes(type);
        for (int off = 0; off < dst.remaining(); off += step) {
            int len = Math.min(step, dst.remaining() - off);
            Shape shape = new Shape(len / type.bytes());
            NDArray acc = TensorMemory.wrap(manager, dst.slice(dst.position() + off, len), shape, dt);
            NDArray in = TensorMemory.wrap(manager, src.slice(src.position() + off, len), shape, dt);
            try {
                apply(acc, in, op);
            } finally {
                acc.close();
                in.close();
            }
        }
    }

    /**
     * Reduces several peers' copies of one piece into {@code dst}, in the order given: each remote payload
     * is pulled into this reducer's cache-sized buffer first, a local one is read in place. On a pinned
     * thread ({@link SerialTorch}) the accumulator is wrapped once for all of them and each copy is
     * added in one libtorch call.
     *
     * @param dst the accumulator piece, at most {@link #PULL_BYTES}
     * @param sources the peers' messages, each holding the piece at {@code offset}
     * @param ranks the group rank each message came from, for errors
     * @param offset where the piece starts in every message's payload
     * @param type element type
     * @param op SUM, MAX or MIN
     * @throws TransportException if a remote payload cannot be pulled (its process is gone)
     */
    void reduceAll(ByteBuffer dst, Inbound[] sources, int[] ranks, int offset, ElementType type, ReduceOp op)
            throws TransportException {
        int len = dst.remaining();
        if (len == 0) {
            return;
        }
        boolean whole = type != ElementType.BFLOAT16 && SerialTorch.pinned();
        DataType dt = whole ? type.toDataType("reduce") : null;
        Shape shape = new Shape(len / type.bytes());
        NDArray acc = whole ? TensorMemory.wrap(manager, dst, shape, dt) : null;
        try {
            for (int i = 0; i < sources.length; i++) {
                Inbound m = sources[i];
                ByteBuffer src;
                if (m.isRemote()) {
                    src = piece(len);
                    try {
                        m.read(offset, src);
                    } catch (IOException e) {
                        throw new TransportException(TransportException.Kind.FAILED, ranks[i], "could not be read from: "
                                + e.getMessage());
                    }
                } else {
                    src = m.data().slice(m.data().position() + offset, len).order(ByteOrder.nativeOrder());
                }
                if (!whole) {
                    reduce(dst, src, type, op);
                } else if (m.isRemote() && len == PULL_BYTES) {
                    apply(acc, pieceView(type, dt), op);
                } else {
                    try (NDArray in = TensorMemory.wrap(manager, src, shape, dt)) {
                        apply(acc, in, op);
                    }
                }
            }
        } finally {
            if (acc != null) {
                acc.close();
            }
        }
    }

    /**
     * Bytes per libtorch call: a whole piece where this thread keeps libtorch to itself
     * ({@link SerialTorch}), else libtorch's grain size, below which a kernel stays on the calling thread.
     */
    private static int callBytes(ElementType type) {
        return SerialTorch.pinned() ? 4 * PULL_BYTES : PIECE_ELEMENTS * type.bytes();
    }

    /** The whole pull buffer as a tensor of {@code dt}, wrapped once. */
    private NDArray pieceView(ElementType type, DataType dt) {
        piece(PULL_BYTES);
        return pieceViews.computeIfAbsent(type, t -> TensorMemory.wrap(manager, pieces, new Shape(PULL_BYTES / t.bytes()), dt));
    }

    private static void apply(NDArray acc, NDArray in, ReduceOp op) {
        switch (op) {
            case SUM:
            case AVG:
                acc.addi(in);
                break;
            case MAX:
                try (NDArray r = acc.maximum(in)) {
                    Tensors.copyInto(acc, r);
                }
                break;
            case MIN:
                try (NDArray r = acc.minimum(in)) {
                    Tensors.copyInto(acc, r);
                }
                break;
            default:
                throw new IllegalArgumentException("unknown reduction " + op);
        }
    }

    /**
     * Divides every element by {@code divisor} in place (the second half of AVG). Integers are divided
     * in fp64 and truncated toward zero.
     *
     * @param buffer the elements
     * @param type element type
     * @param divisor the group size
     */
    void divide(ByteBuffer buffer, ElementType type, int divisor) {
        if (buffer.remaining() == 0 || divisor == 1) {
            return;
        }
        if (type == ElementType.BFLOAT16) {
            ShortBuffer d = buffer.duplicate().order(ByteOrder.nativeOrder()).asShortBuffer();
            for (int i = 0; i < d.limit(); i++) {
                d.put(i, Bf16.round(Bf16.widen(d.get(i)) / divisor));
            }
            return;
        }
        DataType dt = type.toDataType("divide");
        try (NDManager scope = manager.newSubManager()) {
            NDArray a = TensorMemory.wrap(scope, buffer, new Shape(buffer.remaining() / type.bytes()), dt);
            if (type.isInteger()) {
                Tensors.copyInto(a, a.toType(DataType.FLOAT64, false).divi(divisor).toType(dt, false));
            } else {
                a.divi(divisor);
            }
        }
    }

    private static void reduceBf16(ByteBuffer dst, ByteBuffer src, ReduceOp op) {
        ShortBuffer d = dst.duplicate().order(ByteOrder.nativeOrder()).asShortBuffer();
        ShortBuffer s = src.duplicate().order(ByteOrder.nativeOrder()).asShortBuffer();
        int n = d.limit();
        for (int i = 0; i < n; i++) {
            float a = Bf16.widen(d.get(i));
            float b = Bf16.widen(s.get(i));
            float r;
            switch (op) {
                case MAX:
                    r = Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.max(a, b);
                    break;
                case MIN:
                    r = Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.min(a, b);
                    break;
                default:
                    r = a + b;
                    break;
            }
            d.put(i, Bf16.round(r));
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
