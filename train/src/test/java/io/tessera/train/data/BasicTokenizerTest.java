package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Cases from BERT's tokenization_test.py and Hugging Face's BasicTokenizer tests. */
class BasicTokenizerTest {

    private final BasicTokenizer uncased = new BasicTokenizer(true, Vocabulary.SPECIAL_TOKENS);
    private final BasicTokenizer cased = new BasicTokenizer(false, Vocabulary.SPECIAL_TOKENS);

    @Test
    void lowerCasesAndSplitsPunctuation() {
        assertEquals(List.of("hello", "!", "how", "are", "you", "?"), uncased.tokenize(" \tHeLLo!how  \n Are yoU?  "));
        assertEquals(List.of("hello"), uncased.tokenize("H\u00E9llo"));
    }

    @Test
    void stripsAccentsOnlyWhenUncased() {
        assertEquals(List.of("hallo", "!", "how", "are", "you", "?"), uncased.tokenize(" \tH\u00E4LLo!how  \n Are yoU?  "));
        assertEquals(List.of("H\u00E4LLo", "!", "how", "Are", "yoU", "?"), cased.tokenize(" \tH\u00E4LLo!how  \n Are yoU?  "));
        // A decomposed accent (NFD input) is recomposed, then stripped.
        assertEquals(List.of("cafe"), uncased.tokenize("Cafe\u0301"));
    }

    @Test
    void isolatesCjkIdeographs() {
        assertEquals(List.of("ah", "\u535A", "\u63A8", "zz"), uncased.tokenize("ah\u535A\u63A8zz"));
    }

    @Test
    void dropsControlCharactersAndMapsWhitespace() {
        assertEquals(List.of("ab", "c"), uncased.tokenize("a\u0000b\u00A0c"));
        assertEquals(List.of("ab"), uncased.tokenize("a\u200Bb"));
        assertEquals(List.of(), uncased.tokenize(" \t\r\n "));
    }

    @Test
    void keepsSpecialTokensWhole() {
        assertEquals(List.of("[UNK]", "is", "[MASK]", "."), uncased.tokenize("[UNK] is [MASK] ."));
        assertEquals(List.of("[", "unk", "]"), uncased.tokenize("[unk]"));
    }

    @Test
    void classifiesCharactersAsBert() {
        assertEquals(true, BasicTokenizer.isWhitespace(' '));
        assertEquals(true, BasicTokenizer.isWhitespace('\u00A0'));
        assertEquals(false, BasicTokenizer.isWhitespace('A'));
        assertEquals(true, BasicTokenizer.isControl('\u0005'));
        assertEquals(false, BasicTokenizer.isControl('\t'));
        assertEquals(true, BasicTokenizer.isPunctuation('-'));
        assertEquals(true, BasicTokenizer.isPunctuation('$'));
        assertEquals(true, BasicTokenizer.isPunctuation('`'));
        assertEquals(true, BasicTokenizer.isPunctuation('\u2014'));
        assertEquals(false, BasicTokenizer.isPunctuation('A'));
    }
}
