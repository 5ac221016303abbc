package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WordPieceTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Labels on first sub-tokens only, read back per word, truncation, on a hand-made vocabulary. */
class TokenAlignmentTest {

    // ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 eu 6 reject 7 ##s 8 german 9 call
    static final TaskTokenizer TOKENIZER = TaskTokenizer.wordPiece(new WordPieceTokenizer(vocabulary(), true));

    static Vocabulary vocabulary() {
        List<String> tokens = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        tokens.addAll(List.of("eu", "reject", "##s", "german", "call"));
        return Vocabulary.of(tokens);
    }

    @Test
    void onlyTheFirstSubTokenOfAWordCarriesItsLabel() {
        // tags B-ORG=3, O=0, B-MISC=2, O=0
        TokenAlignment a = TokenAlignment.of(List.of("EU", "rejects", "German", "call"), new int[] {3, 0, 2, 0}, TOKENIZER, 16);
        assertArrayEquals(new int[] {2, 5, 6, 7, 8, 9, 3}, a.inputIds());
        assertArrayEquals(new int[] {-100, 3, 0, -100, 2, 0, -100}, a.labels());
        assertArrayEquals(new int[] {1, 2, 4, 5}, a.wordStarts());
        // predictions per token (the ##s position disagrees, and is ignored)
        assertArrayEquals(new int[] {3, 0, 2, 1}, a.wordPredictions(new int[] {9, 3, 0, 7, 2, 1, 9}, 0));
    }

    @Test
    void wordsPastTheLengthLimitReadBackAsOutside() {
        TokenAlignment a = TokenAlignment.of(List.of("EU", "rejects", "German"), new int[] {3, 0, 2}, TOKENIZER, 4);
        assertArrayEquals(new int[] {2, 5, 6, 3}, a.inputIds());   // [CLS] eu reject [SEP]: ##s and german cut
        assertArrayEquals(new int[] {-100, 3, 0, -100}, a.labels());
        assertArrayEquals(new int[] {1, 2, -1}, a.wordStarts());
        assertArrayEquals(new int[] {3, 0, 0}, a.wordPredictions(new int[] {0, 3, 0, 0}, 0));
        assertThrows(IllegalArgumentException.class, () -> TokenAlignment.of(List.of("EU"), new int[] {3}, TOKENIZER, 2));
    }

    @Test
    void predictionInputCarriesNoLabels() {
        TokenAlignment a = TokenAlignment.of(List.of("rejects"), null, TOKENIZER, 8);
        assertArrayEquals(new int[] {-100, -100, -100, -100}, a.labels());
    }
}
