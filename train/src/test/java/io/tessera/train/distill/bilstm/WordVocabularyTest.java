package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Word splitting as SST-2 writes its text, and the vocabulary's order, limits and file. */
class WordVocabularyTest {

    @Test
    void splitterLowerCasesAndSeparatesPunctuation() {
        assertEquals(List.of("it", "'s", "a", "charming", ",", "often", "funny", "film", "."),
                WordSplitter.split("It 's a charming , often funny film . "));
        assertEquals(List.of("funny", ",", "well-made", "ca", "n't", "!", "?"), WordSplitter.split("Funny, well-made ca n't!?"));
        assertEquals(List.of(), WordSplitter.split("   "));
    }

    @Test
    void specialWordsFirstThenByCountThenAlphabetically(@TempDir Path dir) throws Exception {
        List<List<String>> s = List.of(List.of("b", "a", "c", "a"), List.of("c", "d", "[MASK]"));
        WordVocabulary v = WordVocabulary.build(s, 1, 0);
        assertEquals(List.of("[PAD]", "[UNK]", "[MASK]", "a", "c", "b", "d"), v.words());
        assertArrayEquals(new int[] {3, 1, 2}, v.ids(List.of("a", "zzz", "[MASK]")));
        assertEquals(List.of("[PAD]", "[UNK]", "[MASK]", "a", "c"), WordVocabulary.build(s, 2, 0).words(), "min count 2");
        assertEquals(List.of("[PAD]", "[UNK]", "[MASK]", "a"), WordVocabulary.build(s, 1, 4).words(), "at most 4 entries");
        Path file = dir.resolve("vocab.txt");
        v.write(file);
        assertEquals(v.words(), WordVocabulary.read(file).words());
    }

    @Test
    void aVocabularyWithoutTheSpecialWordsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WordVocabulary.of(List.of("a", "b", "c")));
        assertTrue(e.getMessage().contains("[PAD], [UNK], [MASK]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WordVocabulary.build(List.of(), 0, 0));
        assertTrue(e.getMessage().contains("minCount = 0"), e.getMessage());
    }
}
