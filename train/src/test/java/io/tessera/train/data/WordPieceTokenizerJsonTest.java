package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code tokenizer.json} Tessera writes for its WordPiece vocabulary, read by the Rust
 * {@code tokenizers} library (DJL's binding), encodes WikiText as Tessera's own {@link WordPieceTokenizer}
 * does, special tokens included.
 */
class WordPieceTokenizerJsonTest {

    @Test
    void theRustLibraryReadingTheWrittenFileGivesTesserasIdsOnWikiText(@TempDir Path dir) throws Exception {
        Path wiki = WikiText2.find(Path.of("").toAbsolutePath()).orElseThrow();
        Vocabulary v = WordPieceTrainer.builder().setVocabSize(1500).build().train(Corpus.loadWikiText(wiki.resolve("valid.txt")));
        for (boolean lowerCase : new boolean[] {true, false}) {
            Path file = dir.resolve("tokenizer-" + lowerCase + ".json");
            Files.write(file, WordPieceTokenizerJson.of(v, lowerCase, true));
            WordPieceTokenizer ours = new WordPieceTokenizer(v, lowerCase);
            List<String> lines = Files.readAllLines(wiki.resolve("test.txt"), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).limit(400).toList();
            long tokens = 0;
            try (HfTokenizer rust = HfTokenizer.load(file)) {
                assertEquals("WordPiece", rust.model());
                assertArrayEquals(new int[] {v.clsId()}, rust.prefix());
                assertArrayEquals(new int[] {v.sepId()}, rust.suffix());
                assertEquals(v.padId(), rust.padId());
                for (String line : lines) {
                    int[] body = ours.encode(line);
                    int[] expected = new int[body.length + 2];
                    expected[0] = v.clsId();
                    System.arraycopy(body, 0, expected, 1, body.length);
                    expected[expected.length - 1] = v.sepId();
                    assertArrayEquals(expected, rust.encode(line, true), "lowerCase " + lowerCase + ": " + line);
                    tokens += body.length;
                }
                List<int[]> words = rust.encodeWords(List.of("Tessera", "trains", "models", "."));
                assertEquals(4, words.size());
                for (int[] w : words) {
                    assertTrue(w.length >= 1);
                }
                assertArrayEquals(ours.encode("Tessera"), words.get(0));
            }
            assertTrue(tokens > 10_000, "compared " + tokens + " tokens");
        }
    }
}
