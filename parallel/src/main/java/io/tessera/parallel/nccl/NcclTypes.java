package io.tessera.parallel.nccl;

import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;

/**
 * Tessera's element types and reductions as NCCL's {@code ncclDataType_t} and {@code ncclRedOp_t}.
 * The values are those of {@code nccl.h} (stable across NCCL 2.x), written here rather than read from
 * the presets so that this class names no JavaCPP class; {@code NcclTypesTest} checks them against the
 * presets' constants.
 *
 * <p>AVG is NCCL's own {@code ncclAvg} (NCCL ≥ 2.10): floating types are pre-multiplied by 1/size
 * and summed, integers summed and divided with truncation toward zero, as the Netty backend does.
 *
 * <p>Thread safety: stateless.
 */
final class NcclTypes {

    private NcclTypes() {}

    /**
     * @param type an element type
     * @return NCCL's data type
     */
    static int dataType(ElementType type) {
        switch (type) {
            case FLOAT32:
                return 7; // ncclFloat32
            case FLOAT16:
                return 6; // ncclFloat16
            case BFLOAT16:
                return 9; // ncclBfloat16
            case INT32:
                return 2; // ncclInt32
            case INT64:
                return 4; // ncclInt64
            default:
                throw new IllegalArgumentException("no NCCL data type for " + type);
        }
    }

    /**
     * @param op a reduction
     * @return NCCL's reduction
     */
    static int reduceOp(ReduceOp op) {
        switch (op) {
            case SUM:
                return 0; // ncclSum
            case AVG:
                return 4; // ncclAvg
            case MAX:
                return 2; // ncclMax
            case MIN:
                return 3; // ncclMin
            default:
                throw new IllegalArgumentException("no NCCL reduction for " + op);
        }
    }

    /** The bytes type: broadcast, send and recv move bytes whatever the element type. */
    static int bytes() {
        return 1; // ncclUint8
    }
}
