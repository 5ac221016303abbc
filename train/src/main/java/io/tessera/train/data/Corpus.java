package io.tessera.train.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A text corpus as documents of sentences: the input of vocabulary building and of example
 * construction.
 *
 * <p>{@link #loadWikiText(Path)} reads WikiText's tokenised format:
 *
 * <pre>
 *    = Homarus gammarus =                     level-1 heading: a new document, its title
 *    = = Description = =                      deeper heading: dropped
 *    Homarus gammarus is a large &lt;unk&gt; , ...   paragraph: split into sentences
 * </pre>
 *
 * <ul>
 *   <li>WikiText's escapes are undone: {@code " @-@ "} → {@code "-"}, {@code " @,@ "} →
 *       {@code ","}, {@code " @.@ "} → {@code "."} ({@code "0 @.@ 7"} → {@code "0.7"});
 *       {@code <unk>} (a rare word removed by WikiText) becomes {@code [UNK]}, which
 *       tokenization keeps as the unknown token.</li>
 *   <li>Sentences end after a stand-alone {@code .}, {@code ?} or {@code !} (WikiText
 *       separates sentence-final punctuation by spaces; {@code "H. americanus"} is not
 *       split). A {@code "} right after the end mark that closes an open quotation stays
 *       with the sentence.</li>
 *   <li>Documents without a sentence are left out; text before the first heading forms a
 *       document with an empty title.</li>
 * </ul>
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class Corpus {

    private final String source;
    private final List<Document> documents;

    private Corpus(String source, List<Document> documents) {
        this.source = source;
        this.documents = List.copyOf(documents);
    }

    /**
     * Creates a corpus from documents.
     *
     * @param source    a name for error messages (a path, or "test corpus")
     * @param documents at least one document
     * @return the corpus
     * @throws IllegalArgumentException if there is no document
     */
    public static Corpus of(String source, List<Document> documents) {
        if (documents.isEmpty()) {
            throw new IllegalArgumentException("Corpus " + source + " has no documents; pass at least one document"
                    + " with a sentence");
        }
        return new Corpus(source, documents);
    }

    /**
     * Reads a WikiText file (for example {@code data/wikitext-2/valid.txt}).
     *
     * @param file the file
     * @return its documents
     * @throws IllegalArgumentException if the file does not exist, is empty, or holds no
     *                                  sentence; the message names the path and the fix
     * @throws IOException              if reading fails
     */
    public static Corpus loadWikiText(Path file) throws IOException {
        Path absolute = file.toAbsolutePath();
        if (!Files.isRegularFile(absolute)) {
            throw new IllegalArgumentException("Corpus file " + absolute + " does not exist or is not a file;"
                    + " pass a WikiText file such as data/wikitext-2/valid.txt from the repository root"
                    + " (WikiText2.find(Path.of(\"\")) locates it from a sub-folder)");
        }
        if (Files.size(absolute) == 0) {
            throw new IllegalArgumentException("Corpus file " + absolute + " is empty; pass a WikiText file with"
                    + " text, such as data/wikitext-2/valid.txt");
        }
        List<Document> documents = parseWikiText(Files.readAllLines(absolute, StandardCharsets.UTF_8));
        if (documents.isEmpty()) {
            throw new IllegalArgumentException("Corpus file " + absolute + " holds no sentences (only blank lines"
                    + " and ' = Heading = ' lines); pass a WikiText file with article text, such as"
                    + " data/wikitext-2/valid.txt");
        }
        return new Corpus(absolute.toString(), documents);
    }

    static List<Document> parseWikiText(List<String> lines) {
        List<Document> documents = new ArrayList<>();
        String title = "";
        List<String> sentences = new ArrayList<>();
        for (String line : lines) {
            String trimmed = line.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            int level = headingLevel(trimmed);
            if (level == 1) {
                if (!sentences.isEmpty()) {
                    documents.add(new Document(title, sentences));
                }
                title = normalise(trimmed.substring(1, trimmed.length() - 1).strip());
                sentences = new ArrayList<>();
            } else if (level == 0) {
                sentences.addAll(splitSentences(normalise(trimmed)));
            }
        }
        if (!sentences.isEmpty()) {
            documents.add(new Document(title, sentences));
        }
        return documents;
    }

    /** Returns the heading level of a trimmed line ({@code "= = A = ="} is 2), or 0. */
    static int headingLevel(String trimmed) {
        if (trimmed.length() < 3 || trimmed.charAt(0) != '=' || trimmed.charAt(trimmed.length() - 1) != '=') {
            return 0;
        }
        String[] tokens = trimmed.split(" +");
        int leading = 0;
        while (leading < tokens.length && tokens[leading].equals("=")) {
            leading++;
        }
        int trailing = 0;
        while (trailing < tokens.length && tokens[tokens.length - 1 - trailing].equals("=")) {
            trailing++;
        }
        return leading == trailing && leading + trailing < tokens.length ? leading : 0;
    }

    /**
     * Undoes WikiText's escapes and maps {@code <unk>} to {@code [UNK]}. No escape is glued
     * to {@code [UNK]} ({@code "re @-@ <unk>"} → {@code "re- [UNK]"}), so that it stays a
     * whitespace-delimited word: BERT's tokenizers keep a special token whole only then. The
     * basic tokenizer splits {@code - , .} off either way.
     */
    static String normalise(String text) {
        String[] tokens = text.strip().split(" +");
        boolean[] escape = new boolean[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            String token = tokens[i];
            if (token.length() == 3 && token.charAt(0) == '@' && token.charAt(2) == '@'
                    && "-,.".indexOf(token.charAt(1)) >= 0) {
                tokens[i] = token.substring(1, 2);
                escape[i] = true;
            } else if (token.equals("<unk>")) {
                tokens[i] = Vocabulary.UNK;
            }
        }
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < tokens.length; i++) {
            boolean glue = i > 0 && (escape[i] || escape[i - 1])
                    && !tokens[i].equals(Vocabulary.UNK) && !tokens[i - 1].equals(Vocabulary.UNK);
            if (i > 0 && !glue) {
                sb.append(' ');
            }
            sb.append(tokens[i]);
        }
        return sb.toString();
    }

    /** Splits a normalised paragraph into sentences after stand-alone end marks. */
    static List<String> splitSentences(String paragraph) {
        String[] tokens = paragraph.split(" +");
        List<String> sentences = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int quotes = 0;
        for (int i = 0; i < tokens.length; i++) {
            String token = tokens[i];
            if (token.isEmpty()) {
                continue;
            }
            append(current, token);
            if (token.equals("\"")) {
                quotes++;
            }
            if (token.equals(".") || token.equals("?") || token.equals("!")) {
                if (i + 1 < tokens.length && tokens[i + 1].equals("\"") && quotes % 2 == 1) {
                    append(current, tokens[++i]);
                }
                sentences.add(current.toString());
                current.setLength(0);
                quotes = 0;
            }
        }
        if (current.length() > 0) {
            sentences.add(current.toString());
        }
        return sentences;
    }

    private static void append(StringBuilder sb, String token) {
        if (sb.length() > 0) {
            sb.append(' ');
        }
        sb.append(token);
    }

    /**
     * Returns where the corpus came from.
     *
     * @return the absolute path of the file, or the name given to {@link #of}
     */
    public String source() {
        return source;
    }

    /**
     * Returns the documents.
     *
     * @return an unmodifiable list, in file order
     */
    public List<Document> documents() {
        return documents;
    }

    /**
     * Returns all sentences of all documents, in order.
     *
     * @return a new unmodifiable list
     */
    public List<String> sentences() {
        List<String> all = new ArrayList<>();
        for (Document d : documents) {
            all.addAll(d.sentences());
        }
        return List.copyOf(all);
    }

    @Override
    public String toString() {
        return "Corpus[" + source + ", " + documents.size() + " documents]";
    }
}
