package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabularyTest {

    @TempDir
    Path dir;

    @Test
    void specialTokensFirstAtZeroToFour() {
        Vocabulary vocab = TestData.smallVocabulary("the", "##s");
        assertEquals(List.of(0, 1, 2, 3, 4),
                List.of(vocab.padId(), vocab.unkId(), vocab.clsId(), vocab.sepId(), vocab.maskId()));
        assertTrue(vocab.isSpecial(4));
        assertFalse(vocab.isSpecial(5));
        assertTrue(vocab.isContinuation(vocab.id("##s")));
        assertFalse(vocab.isContinuation(vocab.id("the")));
        assertEquals(vocab.unkId(), vocab.id("absent"));
    }

    @Test
    void loadsGoogleBertLayout() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("[PAD]");
        for (int i = 0; i < 99; i++) {
            lines.add("[unused" + i + "]");
        }
        lines.addAll(List.of("[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s"));
        Path file = dir.resolve("vocab.txt");
        Files.write(file, lines, StandardCharsets.UTF_8);
        Vocabulary vocab = Vocabulary.load(file);
        assertEquals(List.of(0, 100, 101, 102, 103),
                List.of(vocab.padId(), vocab.unkId(), vocab.clsId(), vocab.sepId(), vocab.maskId()));
        assertEquals(104, vocab.id("the"));
    }

    @Test
    void saveThenLoadIsIdentical() throws IOException {
        Vocabulary vocab = TestData.smallVocabulary("caf\u00E9", "##\u00E9", "\u535A", "un", "##aff");
        Path file = dir.resolve("sub").resolve("vocab.txt");
        vocab.save(file);
        assertEquals(vocab, Vocabulary.load(file));
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertEquals(String.join("\n", vocab.tokens()) + "\n", text);
        try (var listing = Files.list(file.getParent())) {
            assertEquals(1, listing.count(), "no temporary file left behind");
        }
    }

    @Test
    void missingSpecialTokensAreNamedWithTheFile() throws IOException {
        Path file = dir.resolve("vocab.txt");
        Files.write(file, List.of("[PAD]", "[UNK]", "the", "cat"), StandardCharsets.UTF_8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.load(file));
        assertTrue(e.getMessage().contains("lacks the special token(s) [[CLS], [SEP], [MASK]]"), e.getMessage());
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e.getMessage());
    }

    @Test
    void rejectsMissingFileDuplicatesAndEmptyLines() throws IOException {
        Path missing = dir.resolve("nope.txt");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.load(missing));
        assertTrue(e.getMessage().contains(missing.toAbsolutePath().toString()), e.getMessage());

        Path duplicate = dir.resolve("dup.txt");
        List<String> lines = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        lines.addAll(List.of("the", "cat", "the"));
        Files.write(duplicate, lines, StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.load(duplicate));
        assertTrue(e.getMessage().contains("'the' appears at id 5 and again at id 7"), e.getMessage());

        Path blank = dir.resolve("blank.txt");
        lines = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        lines.addAll(List.of("the", "", "cat"));
        Files.write(blank, lines, StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.load(blank));
        assertTrue(e.getMessage().contains("line 7"), e.getMessage());
    }
}
