package io.tessera.parallel.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import org.junit.jupiter.api.Test;

/**
 * {@link DifferentiableCast} rounds forward and passes the gradient back in the input's type, inside a
 * tape node's autograd graph: {@code y = fp16(x)}, {@code dx = fp32(dy)}.
 */
class DifferentiableCastTest {

    @Test
    void castsForwardAndPassesTheGradientBack() {
        try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, true)) {
            Var x = tape.variable(m.create(new float[] {1f, 2.0004f, -3f}));
            Var y = tape.apply1("cast-square", false, (ctx, in) -> {
                var half = DifferentiableCast.to(in.get(0), DataType.FLOAT16);
                assertEquals(DataType.FLOAT16, half.getDataType());
                assertEquals(in.get(0), DifferentiableCast.to(in.get(0), DataType.FLOAT32), "no cast to its own type");
                return new NDList(half.mul(half).sum());
            }, x);
            assertEquals(DataType.FLOAT16, y.value().getDataType());
            tape.backward(y);
            assertEquals(DataType.FLOAT32, x.grad().getDataType(), "the gradient comes back in the input's type");
            // d/dx Σ fp16(x)² = 2·fp16(x): 2.0004 rounds to 2 in fp16.
            assertArrayEquals(new float[] {2f, 4f, -6f}, x.grad().toFloatArray(), 0f);
        }
    }
}
