package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RoBERTa and DistilBERT pretrain on the masked-LM objective alone (full-sentence packs, dynamic
 * masking): the held-out MLM loss falls, there is no next-sentence term, TP=2 repeats TP=1's losses,
 * and the exported model is the family's Hugging Face model with the vocabulary's padding id.
 */
class MaskedLmPretrainingTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"roberta-tiny", "distilbert-tiny"})
    void trainsOnMaskedLmAloneAtAnyDegree(String preset) throws Exception {
        TransformerConfig model = Presets.get(preset);
        List<Trainer.Result> tp1 = TrainerFixture.run(config(preset, dir.resolve("tp1")).build());
        Trainer.Result r = tp1.get(0);
        assertEquals(Set.of("mlm"), r.after().termLosses().keySet(), "masked-LM only, no next-sentence term");
        assertTrue(r.after().termLoss("mlm") < r.before().termLoss("mlm"), "held-out MLM loss falls: " + r.before() + " → " + r.after());
        List<Trainer.Result> tp2 = TrainerFixture.run(config(preset, dir.resolve("tp2")).optTensorParallel(2).build());
        for (int i = 0; i < r.losses().size(); i++) {
            assertEquals(r.losses().get(i), tp2.get(0).losses().get(i), 1e-4, preset + " TP=2 loss at step " + (i + 1));
        }
        TransformerConfig exported = HfConfigJson.read(r.exported());
        assertEquals(model.architecture(), exported.architecture());
        assertEquals(0, exported.padTokenId(), "the exported model numbers positions from the vocabulary's [PAD]");
        int longest = model.architecture() == Architecture.ROBERTA ? 66 - 0 - 1 : 64; // positions less pad_token_id + 1
        assertEquals(longest, exported.maxSequenceLength());
        String tokenizer = java.nio.file.Files.readString(r.exported().resolve("tokenizer_config.json"));
        assertTrue(tokenizer.contains("\"model_max_length\": " + longest), tokenizer);
    }

    @ParameterizedTest
    @ValueSource(strings = {"roberta-tiny", "distilbert-tiny"})
    void theGpt2TaskRefusesAnEncoder(String preset) {
        String m = assertThrows(IllegalArgumentException.class,
                () -> config(preset, dir.resolve("x")).optTask(Task.GPT2).build()).getMessage();
        assertTrue(m.contains("--model " + preset) && m.contains("trained on task MLM") && m.contains("use pretrain"), m);
        assertEquals(Task.MLM, Task.of(Architecture.ROBERTA));
        assertEquals(Task.MLM, Task.of(Architecture.DISTILBERT));
    }

    private static TrainConfig.Builder config(String preset, Path out) {
        return TrainerFixture.tinyBert(out).setModel(Presets.get(preset), preset).optTask(Task.MLM);
    }
}
