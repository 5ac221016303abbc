package io.tessera.train.data;

import java.util.ArrayList;
import java.util.List;

/**
 * BERT's full tokenizer: {@link BasicTokenizer} into words, then WordPiece into pieces of a
 * {@link Vocabulary}, by greedy longest-match-first exactly as Google's
 * {@code WordpieceTokenizer}:
 *
 * <pre>
 *   for each word w (a sequence of code points):
 *     if |w| &gt; 100: emit [UNK]
 *     start = 0
 *     while start &lt; |w|:
 *       end = the largest end &gt; start such that piece = (start &gt; 0 ? "##" : "") + w[start, end)
 *             is in the vocabulary
 *       if there is none: emit [UNK] for the whole word and stop
 *       emit piece; start = end
 * </pre>
 *
 * <p>With {@code un, ##aff, ##able} in the vocabulary, {@code "unaffable"} becomes
 * {@code [un, ##aff, ##able]}. The special tokens are never split nor lower-cased, so a text
 * that holds {@code [UNK]} or {@code [MASK]} keeps them.
 *
 * <p>GPT-2's byte-level BPE vocabulary cannot be downloaded here, so Tessera's GPT-2 data
 * uses this same WordPiece vocabulary (see {@link Gpt2Dataset}).
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class WordPieceTokenizer {

    /**
     * Words longer than this many code points become a single {@code [UNK]}: Hugging Face's
     * {@code BertTokenizer} value (Google's original script uses 200; DJL's
     * {@code BertFullTokenizer} uses 200 as well, so the two differ only on such words).
     */
    public static final int MAX_INPUT_CHARS_PER_WORD = 100;

    private final Vocabulary vocabulary;
    private final BasicTokenizer basicTokenizer;

    /**
     * Creates a tokenizer.
     *
     * @param vocabulary the WordPiece vocabulary
     * @param lowerCase  {@code true} for an uncased vocabulary: must match the setting the
     *                   vocabulary was built with ({@link WordPieceTrainer})
     */
    public WordPieceTokenizer(Vocabulary vocabulary, boolean lowerCase) {
        this.vocabulary = vocabulary;
        this.basicTokenizer = new BasicTokenizer(lowerCase, Vocabulary.SPECIAL_TOKENS);
    }

    /**
     * Returns the vocabulary.
     *
     * @return the vocabulary this tokenizer maps to
     */
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /**
     * Returns the basic tokenizer that runs before WordPiece.
     *
     * @return the basic tokenizer
     */
    public BasicTokenizer basicTokenizer() {
        return basicTokenizer;
    }

    /**
     * Tokenizes text into WordPiece tokens.
     *
     * @param text any text
     * @return the pieces, {@code ##}-prefixed where they continue a word
     */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String word : basicTokenizer.tokenize(text)) {
            int[] ids = wordPieceIds(word);
            for (int id : ids) {
                out.add(vocabulary.token(id));
            }
        }
        return out;
    }

    /**
     * Tokenizes text into ids.
     *
     * @param text any text
     * @return the ids of its pieces
     */
    public int[] encode(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        for (String word : basicTokenizer.tokenize(text)) {
            out.addAll(wordPieceIds(word));
        }
        return out.toArray();
    }

    /**
     * Splits one basic-tokenized word into pieces by greedy longest-match-first.
     *
     * @param word a word as {@link BasicTokenizer} returns it
     * @return the pieces, or {@code [[UNK]]} when the word is too long or some part of it
     *         matches no piece
     */
    public List<String> wordPieces(String word) {
        List<String> out = new ArrayList<>();
        for (int id : wordPieceIds(word)) {
            out.add(vocabulary.token(id));
        }
        return out;
    }

    /**
     * Turns ids back into text: pieces joined by spaces, continuation pieces glued to the
     * piece before them. Lower-casing and accent stripping are not undone.
     *
     * @param ids token ids
     * @return readable text
     */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String token = vocabulary.token(id);
            if (vocabulary.isContinuation(id)) {
                sb.append(token, Vocabulary.CONTINUATION_PREFIX.length(), token.length());
            } else {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(token);
            }
        }
        return sb.toString();
    }

    private int[] wordPieceIds(String word) {
        if (word.codePointCount(0, word.length()) > MAX_INPUT_CHARS_PER_WORD) {
            return new int[] {vocabulary.unkId()};
        }
        int whole = vocabulary.idOrNegative(word);
        if (whole >= 0) {
            // The first step of the greedy search, taken without splitting into code points.
            return new int[] {whole};
        }
        int[] codePoints = word.codePoints().toArray();
        IntList pieces = new IntList(4);
        int start = 0;
        while (start < codePoints.length) {
            int found = -1;
            int end = codePoints.length;
            while (start < end) {
                String piece = new String(codePoints, start, end - start);
                found = vocabulary.idOrNegative(start > 0 ? Vocabulary.CONTINUATION_PREFIX + piece : piece);
                if (found >= 0) {
                    break;
                }
                end--;
            }
            if (found < 0) {
                return new int[] {vocabulary.unkId()};
            }
            pieces.add(found);
            start = end;
        }
        return pieces.toArray();
    }
}
