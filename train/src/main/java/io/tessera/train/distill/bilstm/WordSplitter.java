package io.tessera.train.distill.bilstm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The BiLSTM student's words: lower-cased, split on white space and around punctuation, consistent
 * with SST-2's already tokenised text ({@code "it 's a charming , often funny film ."} splits at its
 * spaces; {@code "funny,"} would split into {@code funny} and {@code ,}).
 *
 * <pre>
 *   word  = a run of letters, digits, apostrophes and hyphens      ("n't", "'s", "-lrb-", "well-made")
 *         | one other non-space character                          (",", ".", "!", "?", "(", ...)
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class WordSplitter {

    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}'\\-]+|[^\\s\\p{L}\\p{N}'\\-]");

    private WordSplitter() {}

    /**
     * @param text a sentence
     * @return its words, lower-cased, in order (empty for a blank text)
     */
    public static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
