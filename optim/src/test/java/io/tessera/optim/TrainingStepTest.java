package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.optim.clip.GradientNorm;
import io.tessera.optim.schedule.LearningRateSchedule;
import io.tessera.parallel.ParallelContext;
import org.junit.jupiter.api.Test;

/**
 * The training step as the module's documentation writes it (tape → gradients → clip → LAMB with a
 * warm-up/decay schedule) fits a small regression: the loss falls by at least 10× in 60 steps.
 */
class TrainingStepTest {

    /** y = W₂·tanh(W₁·x + b₁) with a LayerNorm-like gain that takes no decay. */
    static final class Net extends Module {
        final Parameter w1 = register("w1", Parameter.of(new Shape(4, 16), Initializer.normal(0.5f)));
        final Parameter b1 = register("b1", Parameter.of(new Shape(16), Partition.REPLICATED, Initializer.zeros(), false));
        final Parameter gain = register("gain", Parameter.of(new Shape(16), Partition.REPLICATED, Initializer.ones(), false));
        final Parameter w2 = register("w2", Parameter.of(new Shape(16, 1), Initializer.normal(0.5f)));

        Var loss(Tape tape, Var x, Var y) {
            Var h = tape.apply1("hidden", false,
                    (ctx, in) -> new NDList(in.get(0).matMul(ctx.param(w1)).add(ctx.param(b1)).tanh().mul(ctx.param(gain))), x);
            return tape.apply1("head", false,
                    (ctx, in) -> new NDList(in.get(0).matMul(ctx.param(w2)).sub(in.get(1)).square().mean()), h, y);
        }
    }

    @Test
    void clippedLambStepsWithScheduleReduceTheLoss() {
        Net model = new Net();
        try (NDManager manager = Torch.engine().newBaseManager();
             ParameterBuffer buffer = ParameterBuffer.allocate(model, 3, manager);
             Optimizer lamb = new Lamb(Lamb.Config.builder().weightDecay(0.01).build(), FlatRange.of(buffer), manager)) {
            NDArray x = Rng.normal(manager, new Shape(32, 4), 0f, 1f, 11);
            NDArray y = x.get(":, 0:1").mul(2).sub(x.get(":, 1:2")).add(0.5);
            GradientNorm clipper = GradientNorm.of(lamb.range(), ParallelContext.single(), Sharding.REPLICATED);
            LearningRateSchedule schedule = LearningRateSchedule.builder().peak(0.05).warmupSteps(5).linearDecay(60).build();
            double first = Double.NaN;
            double last = Double.NaN;
            for (int step = 1; step <= 60; step++) {
                buffer.zeroGrad();
                try (Tape tape = new Tape(manager, step, true)) {
                    Var loss = model.loss(tape, tape.constant(x), tape.constant(y));
                    tape.backward(loss);
                    last = loss.value().getFloat();
                }
                GradientNorm.Result norm = clipper.clip(buffer.grads(), 1.0);
                if (norm.finite()) {
                    lamb.step(buffer.params(), buffer.grads(), schedule.lr(step));
                }
                first = step == 1 ? last : first;
            }
            assertTrue(last < first / 10, "loss went from " + first + " to " + last);
        }
    }
}
