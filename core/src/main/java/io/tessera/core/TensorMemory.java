package io.tessera.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-copy access to tensor memory.
 *
 * <ul>
 *   <li>{@link #buffer(NDArray)}: a direct {@link ByteBuffer} over a contiguous CPU tensor's storage;
 *       writes through it are seen by the tensor and the reverse.
 *   <li>{@link #wrap(NDManager, ByteBuffer, Shape, DataType)}: a tensor over a direct buffer, no copy.
 *   <li>{@link #address(NDArray)}: the data address of a tensor on any device, read by calling libtorch's
 *       exported {@code at::TensorBase::data_ptr<T>() const} through JNA with DJL's handle as {@code this}.
 *       The first call checks that address against the direct buffer of a probe CPU tensor and fails
 *       loudly if they differ (a libtorch ABI change would otherwise corrupt memory silently).
 * </ul>
 *
 * <p>Thread safety: all methods are thread-safe; the tensors passed in must not be closed concurrently.
 */
public final class TensorMemory {

    private static final Map<DataType, String> DATA_PTR_SYMBOLS = new EnumMap<>(DataType.class);

    static {
        DATA_PTR_SYMBOLS.put(DataType.FLOAT32, "_ZNK2at10TensorBase8data_ptrIfEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.FLOAT64, "_ZNK2at10TensorBase8data_ptrIdEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.FLOAT16, "_ZNK2at10TensorBase8data_ptrIN3c104HalfEEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.INT32, "_ZNK2at10TensorBase8data_ptrIiEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.INT64, "_ZNK2at10TensorBase8data_ptrIlEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.INT8, "_ZNK2at10TensorBase8data_ptrIaEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.UINT8, "_ZNK2at10TensorBase8data_ptrIhEEPT_v");
        DATA_PTR_SYMBOLS.put(DataType.BOOLEAN, "_ZNK2at10TensorBase8data_ptrIbEEPT_v");
    }

    private static volatile Map<DataType, Function> functions;

    private TensorMemory() {}

    /**
     * A direct buffer over the storage of a contiguous CPU tensor, in native byte order.
     *
     * @param array a CPU tensor
     * @return a buffer sharing the tensor's memory; valid while the tensor is open
     */
    public static ByteBuffer buffer(NDArray array) {
        PtNDArray pt = pt(array);
        if (!Device.Type.CPU.equals(array.getDevice().getDeviceType())) {
            throw new IllegalArgumentException("buffer(" + describe(array) + "): zero-copy buffers exist only for"
                    + " CPU tensors; use address() for device memory");
        }
        checkType(array.getDataType(), "buffer");
        ByteBuffer bb = JniUtils.getByteBuffer(pt, true);
        if (!bb.isDirect()) {
            throw new IllegalStateException("libtorch returned a heap buffer for " + describe(array)
                    + "; zero-copy access needs a contiguous tensor (call toContiguous first)");
        }
        return bb.order(ByteOrder.nativeOrder());
    }

    /**
     * Wraps a direct buffer as a CPU tensor without copying. The buffer must stay reachable for as long
     * as the tensor is used.
     *
     * @param manager owner of the new tensor
     * @param buffer a direct buffer of at least {@code shape.size() * type.getNumOfBytes()} bytes from its position
     * @param shape the tensor's shape
     * @param type the element type
     * @return a tensor sharing the buffer's memory
     */
    public static NDArray wrap(NDManager manager, ByteBuffer buffer, Shape shape, DataType type) {
        checkType(type, "wrap");
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("wrap: the buffer must be direct (ByteBuffer.allocateDirect), got a heap buffer");
        }
        long need = shape.size() * type.getNumOfBytes();
        if (buffer.remaining() < need) {
            throw new IllegalArgumentException("wrap: shape " + shape + " of " + type + " needs " + need
                    + " bytes but the buffer has " + buffer.remaining() + " remaining");
        }
        Torch.engine();
        return JniUtils.createNdFromByteBuffer(
                (PtNDManager) manager, buffer.slice().order(ByteOrder.nativeOrder()), shape, type, SparseFormat.DENSE, Device.cpu());
    }

    /**
     * The address of a tensor's first element, on whatever device it lives.
     *
     * @param array a tensor of a supported type (fp32, fp64, fp16, int8/32/64, uint8, boolean)
     * @return the raw address
     */
    public static long address(NDArray array) {
        checkType(array.getDataType(), "address");
        Function f = functions().get(array.getDataType());
        long handle = (Long) pt(array).getHandle();
        return Pointer.nativeValue(f.invokePointer(new Object[] {new Pointer(handle)}));
    }

    /**
     * Checks that {@code data_ptr} agrees with the direct buffer on a probe tensor and on a slice of it.
     * Runs once automatically at first use of {@link #address(NDArray)}; callable directly, e.g. by
     * {@code tessera doctor}.
     *
     * @return a one-line description of what was checked
     */
    public static String selfCheck() {
        functions();
        return "data_ptr matches the direct buffer address (whole tensor and slice view, fp32/fp16/int64)";
    }

    /**
     * Rejects a data type with no zero-copy path.
     *
     * @param type the type
     * @param op the operation, for the message
     */
    public static void checkType(DataType type, String op) {
        Torch.checkSupported(type, op);
        if (!DATA_PTR_SYMBOLS.containsKey(type)) {
            throw new IllegalArgumentException(op + ": data type " + type + " has no zero-copy path; supported types are "
                    + DATA_PTR_SYMBOLS.keySet());
        }
    }

    private static Map<DataType, Function> functions() {
        Map<DataType, Function> f = functions;
        if (f == null) {
            synchronized (TensorMemory.class) {
                f = functions;
                if (f == null) {
                    f = load();
                    verify(f);
                    functions = f;
                }
            }
        }
        return f;
    }

    private static Map<DataType, Function> load() {
        Torch.engine();
        NativeLibrary lib = NativeLibrary.getInstance(findLibTorchCpu().toString());
        Map<DataType, Function> map = new EnumMap<>(DataType.class);
        for (Map.Entry<DataType, String> e : DATA_PTR_SYMBOLS.entrySet()) {
            try {
                map.put(e.getKey(), lib.getFunction(e.getValue()));
            } catch (UnsatisfiedLinkError err) {
                throw new IllegalStateException("libtorch does not export " + e.getValue() + " (data_ptr for "
                        + e.getKey() + "); this libtorch build is not supported for zero-copy addresses", err);
            }
        }
        return map;
    }

    private static void verify(Map<DataType, Function> map) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (DataType t : List.of(DataType.FLOAT32, DataType.FLOAT16, DataType.INT64)) {
                NDArray probe = m.zeros(new Shape(64), t);
                long viaBuffer = Pointer.nativeValue(com.sun.jna.Native.getDirectBufferPointer(
                        JniUtils.getByteBuffer(pt(probe), true)));
                long viaDataPtr = Pointer.nativeValue(
                        map.get(t).invokePointer(new Object[] {new Pointer((Long) pt(probe).getHandle())}));
                NDArray slice = probe.get("8:");
                long viaSlice = Pointer.nativeValue(
                        map.get(t).invokePointer(new Object[] {new Pointer((Long) pt(slice).getHandle())}));
                long expectedSlice = viaBuffer + 8L * t.getNumOfBytes();
                if (viaBuffer != viaDataPtr || viaSlice != expectedSlice) {
                    throw new IllegalStateException(String.format(
                            "zero-copy self-check failed for %s: direct buffer at 0x%x, data_ptr at 0x%x; slice [8:] at"
                                    + " 0x%x, expected 0x%x. The libtorch ABI differs from the one Tessera was built"
                                    + " against; refusing to use raw addresses", t, viaBuffer, viaDataPtr, viaSlice, expectedSlice));
                }
            }
        }
    }

    private static Path findLibTorchCpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int i = line.indexOf('/');
                if (i >= 0 && line.endsWith("libtorch_cpu.so")) {
                    return Path.of(line.substring(i));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/self/maps to locate libtorch_cpu.so", e);
        }
        throw new IllegalStateException("libtorch_cpu.so is not mapped into this process; the PyTorch engine did not load");
    }

    private static PtNDArray pt(NDArray array) {
        if (!(array instanceof PtNDArray)) {
            throw new IllegalArgumentException("expected a PyTorch-engine array, got " + array.getClass().getName());
        }
        return (PtNDArray) array;
    }

    private static String describe(NDArray a) {
        return a.getShape() + " " + a.getDataType() + " on " + a.getDevice();
    }
}
