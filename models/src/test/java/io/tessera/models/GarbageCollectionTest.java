package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.nio.ByteBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Gradients do not depend on when the garbage collector runs. DJL 0.35.1's {@code Number} overloads
 * ({@code x.mul(0.5)}) hand autograd a scalar over a Java direct buffer that the JVM may free before
 * backward; the layers use {@link io.tessera.parallel.tensor.Scalars} instead. This test collects
 * garbage and recycles direct memory between forward and backward, with dropout on.
 */
class GarbageCollectionTest {

    static float[] grads(Kind kind, boolean collect) {
        TransformerConfig config = kind.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        TransformerModel model = kind.model(config, ParallelContext.single());
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m);
             Tape tape = new Tape(m, 11, true)) {
            Var loss = model.loss(tape, kind.batch(m));
            if (collect) {
                for (int i = 0; i < 3; i++) {
                    System.gc();
                    ByteBuffer[] junk = new ByteBuffer[512];
                    for (int j = 0; j < junk.length; j++) {
                        junk[j] = ByteBuffer.allocateDirect(64);
                        junk[j].putFloat(0, Float.NaN);
                    }
                }
            }
            tape.backward(loss);
            return buf.grads().toFloatArray();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"BERT", "GPT2"})
    void gradientsSurviveACollectionBetweenForwardAndBackward(Kind kind) {
        assertArrayEquals(grads(kind, false), grads(kind, true), kind + ": gradients changed when the GC ran before backward");
    }
}
