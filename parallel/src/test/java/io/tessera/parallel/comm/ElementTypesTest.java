package io.tessera.parallel.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Element types, bfloat16 rounding, options and the group of one. */
class ElementTypesTest {

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, Bf16.round(1.0f));
        assertEquals(1.0f, Bf16.widen(Bf16.round(1.0f + 0x1p-8f)), 0f, "a tie goes to the even neighbour");
        assertEquals(1.0f + 0x1p-6f, Bf16.widen(Bf16.round(1.0f + 0x1p-7f + 0x1p-8f)), 0f, "a tie goes to the even neighbour");
        assertEquals(1.0f + 0x1p-7f, Bf16.widen(Bf16.round(1.0f + 0x1p-7f + 0x1p-9f)), 0f);
        assertTrue(Float.isNaN(Bf16.widen(Bf16.round(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.widen(Bf16.round(Float.POSITIVE_INFINITY)), 0f);
        for (float v : new float[] {0f, -2.5f, 1024f, 0.15625f}) {
            assertEquals(v, Bf16.widen(Bf16.round(v)), 0f);
        }
    }

    @Test
    void bf16NdArraysGetAClearErrorAndNeverReachDjl() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> ElementType.of(DataType.BFLOAT16, "allReduce on tp[0,1]"));
        assertTrue(e.getMessage().contains("ByteBuffer with ElementType.BFLOAT16"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> ElementType.BFLOAT16.toDataType("reduce"));
        assertThrows(UnsupportedOperationException.class, () -> ElementType.of(DataType.FLOAT64, "allReduce"));
        assertEquals(ElementType.FLOAT16, ElementType.of(DataType.FLOAT16, "allReduce"));
    }

    @Test
    void optionsAreValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommOptions.defaults().withChunkBytes(100));
        assertTrue(e.getMessage().contains("chunkBytes = 100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CommOptions.defaults().withTimeout(Duration.ZERO));
    }

    @Test
    void aGroupOfOneCopiesBuffersOfAnyType() {
        Communicator c = new SingleRankCommunicator("tp[3]");
        ByteBuffer in = ByteBuffer.allocateDirect(6).order(ByteOrder.nativeOrder());
        in.putShort(0, Bf16.round(1.5f)).putShort(2, Bf16.round(-2f)).putShort(4, Bf16.round(3f));
        ByteBuffer out = ByteBuffer.allocateDirect(6).order(ByteOrder.nativeOrder());
        c.allReduce(in, ElementType.BFLOAT16, ReduceOp.AVG);
        c.reduceScatter(in, out, ElementType.BFLOAT16, ReduceOp.SUM);
        assertEquals(-2f, Bf16.widen(out.getShort(2)), 0f);
        c.barrier();
        assertThrows(IllegalArgumentException.class, () -> c.send(in, 1));
    }
}
