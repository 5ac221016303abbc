package io.tessera.optim.amp;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.ParameterAccess;
import java.util.Objects;

/**
 * fp16 compute over fp32 master parameters: a {@link ParameterAccess} that hands tape nodes an fp16 copy
 * of each parameter and adds their fp16 gradients, widened to fp32, into the fp32 gradients of the
 * access it wraps (plain storage, or a ZeRO stage's gradient shard).
 *
 * <pre>
 *   acquire(p)              = fp16(inner.acquire(p))          a copy owned by the node's scratch scope
 *   accumulateGradient(p,g) = inner.accumulateGradient(p, fp32(g))     g is the gradient of S·loss
 *   gradientTarget(p)       = null                            contributions always go through the cast
 * </pre>
 *
 * <p>The copy is made per node (once per forward, again for a checkpointed node's backward), so the
 * fp16 parameters live only while a node holds them, and ZeRO stage 3's gathered parameters are cast
 * like any other. Gradients stay multiplied by the loss scale {@code S}: the optimiser divides them once,
 * together with clipping, after the overflow check.
 *
 * <p>Thread safety: not thread-safe; used by one tape's thread.
 */
public final class HalfPrecisionAccess implements ParameterAccess {

    private final ParameterAccess inner;

    /**
     * @param inner where fp32 values come from and fp32 gradients go
     */
    public HalfPrecisionAccess(ParameterAccess inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public NDArray acquire(Parameter p, NDManager scratch) {
        NDArray master = inner.acquire(p, scratch);
        NDArray half = master.toType(DataType.FLOAT16, true);
        half.attach(scratch);
        return half;
    }

    @Override
    public void accumulateGradient(Parameter p, NDArray grad) {
        if (grad.getDataType() == DataType.FLOAT32) {
            inner.accumulateGradient(p, grad);
            return;
        }
        try (NDArray wide = grad.toType(DataType.FLOAT32, false)) {
            inner.accumulateGradient(p, wide);
        }
    }

    @Override
    public NDArray gradientTarget(Parameter p) {
        return null;
    }

    @Override
    public void release(Parameter p) {
        inner.release(p);
    }
}
