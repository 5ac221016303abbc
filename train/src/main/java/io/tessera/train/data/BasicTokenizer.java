package io.tessera.train.data;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * BERT's basic tokenization: the step before WordPiece that cuts text into words and
 * punctuation marks. It follows {@code BasicTokenizer} of Google's {@code tokenization.py}
 * and of Hugging Face's {@code BertTokenizer}, step by step:
 *
 * <ol>
 *   <li>clean: drop U+0000, U+FFFD and control characters (Unicode category C*, except tab,
 *       line feed and carriage return); map every whitespace character to a space;</li>
 *   <li>put spaces around CJK ideographs, so that each becomes a word of its own;</li>
 *   <li>normalise to NFC (Hugging Face's current behaviour) and split on whitespace;</li>
 *   <li>for each word not in the never-split set: when lower-casing, lower-case it and strip
 *       accents (NFD, then drop non-spacing marks), as BERT's uncased models do; a cased
 *       tokenizer does neither;</li>
 *   <li>split off every punctuation character (ASCII non-alphanumeric symbols and
 *       Unicode category P*) as a word of its own.</li>
 * </ol>
 *
 * <p>Whitespace is {@code ' '}, {@code \t}, {@code \n}, {@code \r} and Unicode category Zs,
 * exactly as BERT defines it. Example: {@code "Héllo, World!"} → {@code [hello, ",", world, !]}.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class BasicTokenizer {

    private final boolean lowerCase;
    private final Set<String> neverSplit;

    /**
     * Creates a basic tokenizer.
     *
     * @param lowerCase  {@code true} for an uncased vocabulary (lower-case and strip accents),
     *                   {@code false} for a cased one (leave words as written)
     * @param neverSplit words kept exactly as written, neither lower-cased nor split (the
     *                   special tokens such as {@code [UNK]})
     */
    public BasicTokenizer(boolean lowerCase, Collection<String> neverSplit) {
        this.lowerCase = lowerCase;
        this.neverSplit = Set.copyOf(neverSplit);
    }

    /**
     * Returns whether this tokenizer lower-cases and strips accents.
     *
     * @return {@code true} for uncased tokenization
     */
    public boolean lowerCase() {
        return lowerCase;
    }

    /**
     * Cuts text into words and punctuation marks.
     *
     * @param text any text
     * @return the words in order; empty for blank text
     */
    public List<String> tokenize(String text) {
        String cleaned = Normalizer.normalize(cleanAndIsolateCjk(text), Normalizer.Form.NFC);
        List<String> out = new ArrayList<>();
        int length = cleaned.length();
        int start = -1;
        for (int i = 0; i <= length; i++) {
            boolean space = i == length || cleaned.charAt(i) == ' ';
            if (!space && start < 0) {
                start = i;
            } else if (space && start >= 0) {
                addWord(cleaned.substring(start, i), out);
                start = -1;
            }
        }
        return out;
    }

    private void addWord(String word, List<String> out) {
        if (neverSplit.contains(word)) {
            out.add(word);
            return;
        }
        String normalised = lowerCase ? stripAccents(word.toLowerCase(Locale.ROOT)) : word;
        int start = 0;
        int i = 0;
        while (i < normalised.length()) {
            int cp = normalised.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (isPunctuation(cp)) {
                if (start < i) {
                    out.add(normalised.substring(start, i));
                }
                out.add(normalised.substring(i, next));
                start = next;
            }
            i = next;
        }
        if (start < normalised.length()) {
            out.add(normalised.substring(start));
        }
    }

    private static String cleanAndIsolateCjk(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 16);
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                continue;
            }
            if (isWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjk(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    static String stripAccents(String word) {
        String decomposed = Normalizer.normalize(word, Normalizer.Form.NFD);
        StringBuilder sb = new StringBuilder(decomposed.length());
        int i = 0;
        while (i < decomposed.length()) {
            int cp = decomposed.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.getType(cp) != Character.NON_SPACING_MARK) {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r'
                || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        switch (Character.getType(cp)) {
            case Character.CONTROL:
            case Character.FORMAT:
            case Character.PRIVATE_USE:
            case Character.SURROGATE:
            case Character.UNASSIGNED:
                return true;
            default:
                return false;
        }
    }

    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)
                || (cp >= 123 && cp <= 126)) {
            return true;
        }
        switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION:
            case Character.DASH_PUNCTUATION:
            case Character.START_PUNCTUATION:
            case Character.END_PUNCTUATION:
            case Character.INITIAL_QUOTE_PUNCTUATION:
            case Character.FINAL_QUOTE_PUNCTUATION:
            case Character.OTHER_PUNCTUATION:
                return true;
            default:
                return false;
        }
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
