package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pretrain --model albert-tiny}: the trainer runs ALBERT's MLM + SOP objective through the model's
 * loss terms, TP=2 gives the TP=1 losses (dropout 0), and the exported directory is an ALBERT model.
 */
class AlbertPretrainTest {

    @Test
    void albertTinyTrainsAtTpOneAndTwo(@TempDir Path dir) throws Exception {
        TrainerFixture.defaultGemm();
        TrainConfig one = TrainerFixture.tinyBert(dir.resolve("tp1")).setModel(Presets.get("albert-tiny"), "albert-tiny").build();
        TrainConfig two = TrainerFixture.tinyBert(dir.resolve("tp2")).setModel(Presets.get("albert-tiny"), "albert-tiny")
                .optTensorParallel(2).build();
        Trainer.Result a = TrainerFixture.run(one).get(0);
        Trainer.Result b = TrainerFixture.run(two).get(0);
        assertEquals(4, a.losses().size());
        for (int i = 0; i < 4; i++) {
            assertTrue(Double.isFinite(a.losses().get(i)) && a.losses().get(i) > 1, "loss " + a.losses());
            assertEquals(a.losses().get(i), b.losses().get(i), 1e-4 * a.losses().get(i), "step " + (i + 1) + " TP=2 vs TP=1");
        }
        assertEquals(List.of("mlm", "sop"), List.copyOf(a.after().termLosses().keySet()));
        double sop = a.after().termLosses().get("sop");
        assertTrue(sop > 0.3 && sop < 1.5, "sentence-order loss near ln 2 for an untrained head: " + sop);
        TransformerConfig exported = HfConfigJson.read(a.exported());
        assertEquals(Architecture.ALBERT, exported.architecture());
        assertEquals(Presets.get("albert-tiny").albert().numHiddenGroups(), exported.albert().numHiddenGroups());
        System.out.printf("albert-tiny losses TP=1 %s, TP=2 %s; held-out after: %s%n", a.losses(), b.losses(),
                a.after().termLosses());
    }
}
