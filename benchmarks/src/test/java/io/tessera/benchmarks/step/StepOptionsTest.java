package io.tessera.benchmarks.step;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.tessera.core.Devices;
import io.tessera.models.config.Presets;
import io.tessera.optim.amp.Precision;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class StepOptionsTest {

    @Test
    void defaultsAreBertBaseTwoLayersBatch8Seq128() {
        StepOptions o = StepOptions.parse(new String[0]);
        assertEquals("bert-base/L2", o.label());
        StepSpec s = o.spec();
        assertEquals(2, s.config().numLayers());
        assertEquals(768, s.config().hiddenSize());
        assertEquals(8, s.batch());
        assertEquals(128, s.seq());
        assertEquals(1024, s.tokensPerStep());
        assertEquals("adamw", s.optimizer());
        assertEquals(1, o.rounds());
        assertEquals(1, o.repeats());
        assertEquals(3, StepOptions.parse(new String[] {"--repeats", "3"}).repeats());
        assertTrue(o.reference());
    }

    @Test
    void everyProblemIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StepOptions.parse(
                new String[] {"--model", "bert-huge", "--batch", "0", "--optimizer", "sgd", "--warmup", "-1",
                    "--repeats", "0"}));
        for (String s : List.of("--model bert-huge", "--batch 0", "--optimizer sgd", "--warmup -1", "--repeats 0")) {
            assertTrue(e.getMessage().contains(s), s + " missing from: " + e.getMessage());
        }
    }

    @Test
    void sequenceLongerThanPositionsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StepOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "65"}).spec());
        assertTrue(e.getMessage().contains("seq = 65 must lie in [1, 64]"), e.getMessage());
    }

    @Test
    void referenceGetsThePaddedVocabularyAndTheSameHyperParameters() {
        StepSpec s = StepOptions.parse(new String[] {"--lr", "2e-4", "--clip", "0"}).spec();
        JsonObject j = BertReference.config(s, 7, 2);
        assertEquals(30592, j.get("vocab").getAsInt());
        assertEquals(3072, j.get("ffn").getAsInt());
        assertEquals(2e-4, j.get("lr").getAsDouble());
        assertEquals(0.0, j.get("clip").getAsDouble());
        assertEquals(7, j.get("steps").getAsInt());
        assertEquals(0.1, j.get("attention_dropout").getAsDouble());
        assertFalse(BertReference.unsupported(s.config()).isPresent());
        assertTrue(BertReference.unsupported(Presets.get("gpt2")).isPresent());
        assertTrue(BertReference.unsupported(Presets.get("megatron-bert-336m")).get().contains("post-LN"));
    }

    @Test
    void deviceAndPrecisionDefaultToCpuFp32AndBadValuesAreNamed() {
        StepOptions o = StepOptions.parse(new String[0]);
        assertEquals("cpu", o.device().toString());
        assertEquals(Precision.FP32, o.precision());
        StepOptions gpu = StepOptions.parse(new String[] {"--device", "cuda:1", "--precision", "fp16"});
        assertEquals("cuda:1", gpu.device().toString());
        assertEquals(Precision.FP16, gpu.spec().precision());
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
                () -> StepOptions.parse(new String[] {"--device", "tpu"}));
        assertTrue(d.getMessage().contains("--device tpu") && d.getMessage().contains("cuda:N"), d.getMessage());
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
                () -> StepOptions.parse(new String[] {"--precision", "bf16"}));
        assertTrue(b.getMessage().contains("--precision bf16"), b.getMessage());
    }

    @Test
    void aGpuRequestWithoutAUsableGpuFailsWithExitCode2BeforeMeasuring() {
        Assumptions.assumeTrue(Devices.usableGpus() == 0, "this host has a usable GPU");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = StepBenchmark.run(new String[] {"--device", "cuda", "--no-reference"}, new PrintStream(bytes, true));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, text);
        assertTrue(text.startsWith("error: --device cuda:") && text.contains("--device cpu"), text);
        assertFalse(text.contains("ceiling"), "nothing was measured: " + text);
    }
}
