package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Torch;
import io.tessera.train.finetune.LabelSet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export, load, identical logits; the documented files and their checks. */
class BiLstmStudentTest {

    private static final List<List<String>> SENTENCES = List.of(List.of("a", "good", "film", "."), List.of("dull", "!"),
            List.of("the", "plot", "is", "[MASK]", "and", "unknownword", "."));

    @Test
    void exportThenLoadGivesIdenticalLogits(@TempDir Path dir) throws Exception {
        WordVocabulary v = WordVocabulary.build(SENTENCES.subList(0, 2), 1, 0);
        BiLstmShape shape = new BiLstmShape(v.size(), 6, 5, 7, LabelSet.of(List.of("neg", "pos")));
        Path out = dir.resolve("student");
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            List<float[]> before;
            long count;
            try (BiLstmStudent s = BiLstmStudent.create(shape, v, 3, m, false)) {
                before = new BiLstmPredictor(s, 2).logits(SENTENCES, m);
                count = s.parameterCount();
                s.save(out);
                s.save(out); // replacing an export leaves one complete folder
            }
            assertEquals(shape.parameterCount(), count, "the closed-form count is the allocated one");
            assertTrue(BiLstmStudent.isStudent(out));
            try (BiLstmStudent loaded = BiLstmStudent.load(out, m)) {
                List<float[]> after = new BiLstmPredictor(loaded, 2).logits(SENTENCES, m);
                List<float[]> otherBatch = new BiLstmPredictor(loaded, 3).logits(SENTENCES, m);
                for (int i = 0; i < before.size(); i++) {
                    assertArrayEquals(before.get(i), after.get(i), "sentence " + i + ": the loaded student's logits, same batching");
                    // another batch size may change a product's blocking in the BLAS, so only the last bits
                    assertArrayEquals(before.get(i), otherBatch.get(i), 1e-6f, "sentence " + i + " at batch size 3 instead of 2");
                }
                assertEquals(v.words(), loaded.vocabulary().words());
            }
        }
        JsonObject c = JsonParser.parseString(Files.readString(out.resolve("config.json"), StandardCharsets.UTF_8)).getAsJsonObject();
        assertEquals(BiLstmStudent.ARCHITECTURE, c.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals("pos", c.getAsJsonObject("id2label").get("1").getAsString());
        assertEquals(0, c.getAsJsonObject("label2id").get("neg").getAsInt());
        assertEquals(6, c.get("embedding_dim").getAsInt());
        assertEquals(v.words(), Files.readAllLines(out.resolve("vocab.txt")));
        assertFalse(Files.exists(dir.resolve("student.writing")) || Files.exists(dir.resolve("student.old")), "no temporary left");
    }

    @Test
    void aDirectoryMissingAFileOrWithAnotherVocabularyIsRefused(@TempDir Path dir) throws Exception {
        WordVocabulary v = WordVocabulary.build(SENTENCES, 1, 0);
        Path out = dir.resolve("student");
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            try (BiLstmStudent s = BiLstmStudent.create(new BiLstmShape(v.size(), 4, 3, 2, LabelSet.of(List.of("0", "1"))), v, 3, m, false)) {
                s.save(out);
            }
            Files.writeString(out.resolve("vocab.txt"), "[PAD]\n[UNK]\n[MASK]\nonly\n");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BiLstmStudent.load(out, m));
            assertTrue(e.getMessage().contains("has 4 words but config.json says vocab_size " + v.size()), e.getMessage());
            Files.delete(out.resolve("model.safetensors"));
            e = assertThrows(IllegalArgumentException.class, () -> BiLstmStudent.load(out, m));
            assertTrue(e.getMessage().contains("has no model.safetensors"), e.getMessage());
        }
    }
}
