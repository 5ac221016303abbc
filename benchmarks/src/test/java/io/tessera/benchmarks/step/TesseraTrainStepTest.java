package io.tessera.benchmarks.step;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.tessera.optim.amp.Precision;
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

    @Test
    void fp16StepsScaleTheLossAndTrainOnTheCpu() {
        StepSpec spec = new StepSpec(Presets.get("bert-tiny").toBuilder().optHiddenDropout(0).optAttentionDropout(0).build(),
                "bert-tiny", 2, 8, "adamw", 1e-2, 1.0, 5, Precision.FP16);
        try (TesseraTrainStep step = TesseraTrainStep.create(spec, ParallelContext.single(), Device.cpu())) {
            for (int i = 0; i < 6; i++) {
                step.run();
            }
            float loss = step.lastLoss();
            assertTrue(Float.isFinite(loss), "fp16 loss " + loss);
            // an fp16 step that overflows at 2^16 is skipped and halves the scale, as the trainer's; it must not skip them all
            assertTrue(step.skippedUpdates() < 6, "skipped " + step.skippedUpdates() + " of 6");
            assertTrue(step.describe().contains("fp16 on cpu"), step.describe());
        }
    }

    @Test
    void bf16IsRefusedBeforeAnythingIsBuilt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StepSpec(Presets.get("bert-tiny"),
                "bert-tiny", 2, 8, "adamw", 1e-2, 1.0, 5, Precision.BF16));
        assertTrue(e.getMessage().contains("--precision bf16") && e.getMessage().contains("fp16"), e.getMessage());
    }

    @Test
    void theReferenceRunsFp16OnGpusOnly() {
        StepSpec half = new StepSpec(Presets.get("bert-tiny"), "bert-tiny", 2, 8, "adamw", 1e-2, 1.0, 5, Precision.FP16);
        assertTrue(BertReference.unsupported(half, "cpu").orElseThrow().contains("bf16 only"));
        assertTrue(BertReference.unsupported(half, "cuda:0").isEmpty());
        assertEquals("fp16", BertReference.config(half, 3, 1, "cuda:0").get("precision").getAsString());
        assertEquals("cuda:0", BertReference.config(half, 3, 1, "cuda:0").get("device").getAsString());
        assertEquals("cpu", BertReference.config(half, 3, 1).get("device").getAsString());
    }
}
