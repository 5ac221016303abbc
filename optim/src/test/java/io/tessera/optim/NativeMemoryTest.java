package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.optim.amp.DynamicLossScaler;
import io.tessera.optim.clip.GradientNorm;
import org.junit.jupiter.api.Test;

/**
 * Optimizer steps, clipping and the overflow check leave no array behind: the number of arrays attached
 * to the buffer's, the state's and the caller's managers is the same after ten steps as after one.
 */
class NativeMemoryTest {

    private static int attached(NDManager... managers) {
        int n = 0;
        for (NDManager m : managers) {
            n += ((BaseNDManager) m).getManagedArrays().size();
        }
        return n;
    }

    @Test
    void stepsLeaveNoArraysAttached() {
        try (NDManager manager = Torch.engine().newBaseManager();
             ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager);
             AdamW adamw = new AdamW(AdamW.Config.builder().build(), FlatRange.of(buffer), manager);
             Lamb lamb = new Lamb(Lamb.Config.builder().build(), FlatRange.of(buffer), manager)) {
            GradientNorm clipper = new GradientNorm(FlatRange.of(buffer), TensorNorms.local());
            NDManager[] owners = {manager, buffer.params().getManager(), adamw.state().firstMoment().getManager(),
                lamb.state().firstMoment().getManager()};
            int before = -1;
            for (int step = 0; step < 10; step++) {
                Fixture.set(buffer.grads(), Fixture.grads(step, buffer.numel()));
                DynamicLossScaler.hasNonFinite(buffer.grads());
                clipper.clip(buffer.grads(), 0.01);
                adamw.step(buffer.params(), buffer.grads(), 1e-3);
                lamb.step(buffer.params(), buffer.grads(), 1e-3);
                if (step == 0) {
                    before = attached(owners);
                }
            }
            assertEquals(before, attached(owners), "arrays attached after 10 steps against after 1");
        }
    }
}
