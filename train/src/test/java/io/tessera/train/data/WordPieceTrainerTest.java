package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WordPieceTrainerTest {

    @TempDir
    Path dir;

    @Test
    void buildsTheRequestedSizeFromWikiText() {
        Vocabulary vocab = TestData.vocabulary();
        System.out.printf("WordPiece vocabulary of %d tokens from %s in %d ms%n", vocab.size(),
                TestData.trainCorpus().source(), TestData.trainMillis());
        assertEquals(TestData.VOCAB_SIZE, vocab.size());
        assertEquals(Vocabulary.SPECIAL_TOKENS, vocab.tokens().subList(0, 5));
        assertEquals(vocab.size(), new HashSet<>(vocab.tokens()).size());
        for (String token : List.of("a", "##a", "z", "##z", "0", "##9", ".", "the", "of", "lobster", "##s")) {
            assertTrue(vocab.contains(token), token);
        }
        for (String token : vocab.tokens().subList(5, vocab.size())) {
            assertEquals(token.strip(), token, "no whitespace in tokens");
            assertEquals(token.toLowerCase(Locale.ROOT), token, "uncased vocabulary");
        }
    }

    @Test
    void savedAndLoadedVocabularyIsIdentical() throws IOException {
        Vocabulary vocab = TestData.vocabulary();
        Path file = dir.resolve("vocab.txt");
        vocab.save(file);
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(vocab.tokens(), lines);
        assertEquals(vocab, Vocabulary.load(file));
    }

    @Test
    void heldOutTextTokenizesWithFewUnknowns() throws IOException {
        WordPieceTokenizer tokenizer = TestData.tokenizer();
        Corpus heldOut = Corpus.loadWikiText(WikiText2.heldOutFile(TestData.wikiTextDir()));
        long tokens = 0;
        long unknown = 0;
        for (String sentence : heldOut.sentences().subList(0, 2000)) {
            for (String word : tokenizer.basicTokenizer().tokenize(sentence)) {
                if (word.equals(Vocabulary.UNK)) {
                    continue;
                }
                for (String piece : tokenizer.wordPieces(word)) {
                    tokens++;
                    unknown += piece.equals(Vocabulary.UNK) ? 1 : 0;
                }
            }
        }
        assertTrue(unknown < tokens / 1000, unknown + " unknown pieces of " + tokens);
    }

    @Test
    void mergesFrequentPairsDeterministically() {
        List<String> texts = List.of("low low low low low lower lower newest newest newest newest newest newest",
                "widest widest widest");
        WordPieceTrainer trainer = WordPieceTrainer.builder().setVocabSize(40).build();
        Vocabulary first = trainer.train(texts);
        assertEquals(first, trainer.train(texts));
        assertTrue(first.contains("low"), first.tokens().toString());
        assertTrue(first.contains("newest"), first.tokens().toString());
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(first, true);
        assertEquals(List.of("newest"), tokenizer.tokenize("newest"));
        assertEquals("lower", tokenizer.decode(tokenizer.encode("lower")));
    }

    @Test
    void stopsWhenNoPairIsFrequentEnough() {
        Vocabulary vocab = WordPieceTrainer.builder().setVocabSize(1000).build().train(List.of("ab ab cd"));
        // 5 specials + a b c d + ##a ##b ##c ##d, then only "ab" occurs twice.
        assertEquals(14, vocab.size());
        assertEquals("ab", vocab.token(13));
    }

    @Test
    void validatesSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTrainer.builder().setVocabSize(3).build());
        assertTrue(e.getMessage().contains("vocabSize is 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTrainer.builder().build());
        assertTrue(e.getMessage().contains("setVocabSize"), e.getMessage());
        WordPieceTrainer small = WordPieceTrainer.builder().setVocabSize(10).build();
        e = assertThrows(IllegalArgumentException.class, () -> small.train(List.of("abcdef")));
        assertTrue(e.getMessage().contains("raise vocabSize to at least 17"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> small.train(List.of(" ", "[UNK]")));
        assertTrue(e.getMessage().contains("No words"), e.getMessage());
    }
}
