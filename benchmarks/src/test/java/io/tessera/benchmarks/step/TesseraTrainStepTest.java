package io.tessera.benchmarks.step;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Presets;
import io.tessera.parallel.ParallelContext;
import org.junit.jupiter.api.Test;

/** The concrete Tessera step runs a tiny BERT and GPT-2 end to end (dropout off, so the loss must fall). */
class TesseraTrainStepTest {

    @Test
    void tinyModelsTrain() {
        for (String preset : new String[] {"bert-tiny", "gpt2-tiny"}) {
            StepSpec spec = new StepSpec(Presets.get(preset).toBuilder().optHiddenDropout(0).optAttentionDropout(0).build(),
                    preset, 2, 8, "adamw", 1e-2, 1.0, 5);
            try (TesseraTrainStep step = TesseraTrainStep.create(spec, ParallelContext.single())) {
                assertEquals(16, step.tokensPerStep());
                step.run();
                float first = step.lastLoss();
                for (int i = 0; i < 2; i++) {
                    step.run();
                }
                assertTrue(Float.isFinite(first), preset + " loss " + first);
                assertTrue(step.lastLoss() < first, preset + ": loss went from " + first + " to " + step.lastLoss());
                assertEquals(0, step.skippedUpdates());
                assertTrue(step.describe().contains(preset), step.describe());
            }
        }
    }
}
