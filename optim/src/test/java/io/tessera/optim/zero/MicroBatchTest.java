package io.tessera.optim.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.tape.Tape;
import io.tessera.parallel.ParallelContext;
import org.junit.jupiter.api.Test;

/** The micro-batch protocol refuses the misuses a call order allowed: two backwards, or none. */
class MicroBatchTest {

    @Test
    void oneBackwardPerMicroBatch() {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            ZeroStagesTest.Mlp model = new ZeroStagesTest.Mlp();
            try (DataParallelOptimizer dpo = DataParallelOptimizer.create(1, new DataParallelOptimizer.Spec(model, 1,
                    ParallelContext.single(), ZeroStagesTest.optimizer("adamw"), 1 << 20, m))) {
                NDArray x = Rng.normal(m, new Shape(ZeroStagesTest.GLOBAL_BATCH, ZeroStagesTest.IN), 0f, 1f, 1);
                NDArray y = Rng.normal(m, new Shape(ZeroStagesTest.GLOBAL_BATCH, 3), 0f, 1f, 2);
                try (Tape tape = new Tape(m, 0, true); MicroBatch mb = dpo.microBatch(tape, true)) {
                    var first = model.loss(tape, x, y);
                    var second = model.loss(tape, x, y);
                    mb.backward(first);
                    IllegalStateException twice = assertThrows(IllegalStateException.class, () -> mb.backward(second));
                    assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
                }
                assertTrue(dpo.buffer().grads().abs().sum().getFloat() > 0, "the one backward left gradients");
                assertEquals(false, dpo.step(1e-3, 1.0).skipped());
                IllegalStateException none = assertThrows(IllegalStateException.class, () -> {
                    try (Tape tape = new Tape(m, 1, true); MicroBatch mb = dpo.microBatch(tape, true)) {
                        model.loss(tape, x, y);
                    }
                });
                assertTrue(none.getMessage().contains("without backward"), none.getMessage());
            }
        }
    }
}
