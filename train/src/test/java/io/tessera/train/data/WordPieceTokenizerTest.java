package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Greedy longest-match-first, with the cases of BERT's tokenization_test.py. */
class WordPieceTokenizerTest {

    @Test
    void splitsUnaffable() {
        Vocabulary vocab = TestData.smallVocabulary("un", "##aff", "##able");
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
        assertEquals(List.of("un", "##aff", "##able"), tokenizer.tokenize("unaffable"));
        assertArrayEquals(new int[] {5, 6, 7}, tokenizer.encode("Unaffable"));
        assertEquals("unaffable", tokenizer.decode(tokenizer.encode("unaffable")));
    }

    @Test
    void takesTheLongestPieceFirst() {
        Vocabulary vocab = TestData.smallVocabulary("u", "un", "una", "##f", "##ff", "##aff", "##able", "##ffable");
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
        // "una" is the longest prefix, then "##ffable" the longest rest: greedy, not fewest pieces.
        assertEquals(List.of("una", "##ffable"), tokenizer.wordPieces("unaffable"));
    }

    @Test
    void bertWordpieceCases() {
        Vocabulary vocab = TestData.smallVocabulary("want", "##want", "##ed", "wa", "un", "runn", "##ing", ",");
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
        assertEquals(List.of(), tokenizer.tokenize(""));
        assertEquals(List.of("un", "##want", "##ed", "runn", "##ing"), tokenizer.tokenize("unwanted running"));
        assertEquals(List.of("[UNK]", "runn", "##ing"), tokenizer.tokenize("unwantedX running"));
        assertEquals(List.of("un", "##want", "##ed", ",", "runn", "##ing"), tokenizer.tokenize("UNwant\u00E9d,running"));
    }

    @Test
    void wordsPastOneHundredCharactersAreUnknown() {
        Vocabulary vocab = TestData.smallVocabulary("a", "##a");
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
        assertEquals(100, tokenizer.tokenize("a".repeat(100)).size());
        assertEquals(List.of("[UNK]"), tokenizer.tokenize("a".repeat(101)));
    }

    @Test
    void keepsSpecialTokensInText() {
        Vocabulary vocab = TestData.smallVocabulary("the", "cat");
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
        assertArrayEquals(new int[] {vocab.id("the"), vocab.maskId(), vocab.unkId()},
                tokenizer.encode("The [MASK] [UNK]"));
    }
}
