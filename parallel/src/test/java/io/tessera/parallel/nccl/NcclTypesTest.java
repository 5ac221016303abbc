package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import java.util.EnumMap;
import java.util.Map;
import org.bytedeco.cuda.global.nccl;
import org.junit.jupiter.api.Test;

/**
 * The mapping tables against {@code ncclDataType_t} and {@code ncclRedOp_t} as the presets declare them
 * (compile-time constants: reading them here loads no native code).
 */
class NcclTypesTest {

    @Test
    void everyElementTypeMapsToNcclsDataType() {
        Map<ElementType, Integer> ncclH = new EnumMap<>(ElementType.class);
        ncclH.put(ElementType.INT32, nccl.ncclInt32);
        ncclH.put(ElementType.INT64, nccl.ncclInt64);
        ncclH.put(ElementType.FLOAT16, nccl.ncclFloat16);
        ncclH.put(ElementType.FLOAT32, nccl.ncclFloat32);
        ncclH.put(ElementType.BFLOAT16, nccl.ncclBfloat16);
        for (ElementType t : ElementType.values()) {
            assertEquals(ncclH.get(t), NcclTypes.dataType(t), t.toString());
        }
        assertEquals(nccl.ncclUint8, NcclTypes.bytes());
    }

    @Test
    void everyReductionMapsToNcclsOp() {
        Map<ReduceOp, Integer> ncclH = new EnumMap<>(ReduceOp.class);
        ncclH.put(ReduceOp.SUM, nccl.ncclSum);
        ncclH.put(ReduceOp.MAX, nccl.ncclMax);
        ncclH.put(ReduceOp.MIN, nccl.ncclMin);
        ncclH.put(ReduceOp.AVG, nccl.ncclAvg);
        for (ReduceOp op : ReduceOp.values()) {
            assertEquals(ncclH.get(op), NcclTypes.reduceOp(op), op.toString());
        }
    }

    @Test
    void pollerConstantsMatchNcclResult() {
        assertEquals(nccl.ncclSuccess, NcclPoller.SUCCESS);
        assertEquals(nccl.ncclInProgress, NcclPoller.IN_PROGRESS);
        assertEquals(nccl.NCCL_UNIQUE_ID_BYTES, NcclUniqueIds.BYTES);
    }
}
