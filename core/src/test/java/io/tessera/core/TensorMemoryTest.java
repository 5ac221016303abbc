package io.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class TensorMemoryTest {

    @Test
    void directBufferSharesTheTensorsStorageBothWays() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.arange(0f, 8f);
            FloatBuffer fb = TensorMemory.buffer(a).asFloatBuffer();
            assertEquals(3f, fb.get(3));
            fb.put(3, 42f);
            assertEquals(42f, a.getFloat(3), "a write through the buffer is seen by the tensor");
            a.muli(2);
            assertEquals(84f, fb.get(3), "an in-place op on the tensor is seen through the buffer");
        }
    }

    @Test
    void wrapCreatesATensorOverADirectBufferWithoutCopying() {
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer bb = ByteBuffer.allocateDirect(4 * 6).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 6; i++) {
                bb.putFloat(4 * i, i);
            }
            NDArray t = TensorMemory.wrap(m, bb, new Shape(2, 3), DataType.FLOAT32);
            t.addi(1);
            assertEquals(6f, bb.getFloat(4 * 5), "the op wrote into the caller's buffer");
            assertEquals(Pointer.nativeValue(Native.getDirectBufferPointer(bb)), TensorMemory.address(t));
        }
    }

    @Test
    void dataAddressAgreesWithTheDirectBufferIncludingSliceOffsets() {
        assertTrue(TensorMemory.selfCheck().contains("data_ptr"));
        try (NDManager m = NDManager.newBaseManager()) {
            for (DataType t : new DataType[] {DataType.FLOAT32, DataType.FLOAT64, DataType.FLOAT16, DataType.INT32, DataType.INT64}) {
                NDArray a = m.zeros(new Shape(100), t);
                long base = Pointer.nativeValue(Native.getDirectBufferPointer(TensorMemory.buffer(a)));
                assertEquals(base, TensorMemory.address(a), t.toString());
                assertEquals(base + 10L * t.getNumOfBytes(), TensorMemory.address(a.get("10:")), t + " slice");
            }
        }
    }

    @Test
    void unsupportedTypesGetAClearErrorNotADeadJvm() {
        UnsupportedOperationException bf16 = assertThrows(UnsupportedOperationException.class,
                () -> TensorMemory.checkType(DataType.BFLOAT16, "address"));
        assertTrue(bf16.getMessage().contains("bfloat16") && bf16.getMessage().contains("float16"), bf16.getMessage());
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer bb = ByteBuffer.allocateDirect(16);
            assertThrows(UnsupportedOperationException.class, () -> TensorMemory.wrap(m, bb, new Shape(8), DataType.BFLOAT16));
            IllegalArgumentException str = assertThrows(IllegalArgumentException.class,
                    () -> TensorMemory.checkType(DataType.STRING, "buffer"));
            assertTrue(str.getMessage().toLowerCase().contains("string") && str.getMessage().contains("supported types"), str.getMessage());
            IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                    () -> TensorMemory.wrap(m, ByteBuffer.allocate(32), new Shape(8), DataType.FLOAT32));
            assertTrue(heap.getMessage().contains("direct"), heap.getMessage());
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> TensorMemory.wrap(m, ByteBuffer.allocateDirect(8), new Shape(8), DataType.FLOAT32));
            assertTrue(small.getMessage().contains("needs 32 bytes"), small.getMessage());
        }
        assertArrayEquals(new long[] {2, 3}, new Shape(2, 3).getShape());
    }
}
