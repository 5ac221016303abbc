package io.tessera.train.distill.bilstm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The student's word vocabulary: {@code [PAD]}=0, {@code [UNK]}=1, {@code [MASK]}=2, then the words of
 * the transfer set seen at least {@code minCount} times, most frequent first (ties in alphabetical
 * order), at most {@code maxSize} entries in all. Stored as {@code vocab.txt}, one word per line, the
 * line number (from 0) being the id.
 *
 * <p>Thread safety: immutable.
 */
public final class WordVocabulary {

    /** Padding, id 0. */
    public static final String PAD = "[PAD]";
    /** A word outside the vocabulary, id 1. */
    public static final String UNK = "[UNK]";
    /** A masked word (augmentation), id 2; also the teacher's mask token. */
    public static final String MASK = "[MASK]";
    /** The special words, in id order. */
    public static final List<String> SPECIAL = List.of(PAD, UNK, MASK);
    /** The file name in an exported directory. */
    public static final String FILE_NAME = "vocab.txt";

    private final List<String> words;
    private final Map<String, Integer> ids;

    private WordVocabulary(List<String> words) {
        this.words = List.copyOf(words);
        this.ids = new HashMap<>();
        for (int i = 0; i < words.size(); i++) {
            if (ids.put(words.get(i), i) != null) {
                throw new IllegalArgumentException("word '" + words.get(i) + "' appears twice in the vocabulary (ids "
                        + ids.get(words.get(i)) + " and " + i + "); every line of vocab.txt must be distinct");
            }
        }
    }

    /**
     * @param sentences sentences as word lists (the transfer set)
     * @param minCount the fewest occurrences a word needs, at least 1
     * @param maxSize the most entries, special words included (0: no limit), else at least 4
     * @return the vocabulary
     */
    public static WordVocabulary build(Collection<List<String>> sentences, int minCount, int maxSize) {
        if (minCount < 1) {
            throw new IllegalArgumentException("minCount = " + minCount + ": must be at least 1");
        }
        if (maxSize != 0 && maxSize <= SPECIAL.size()) {
            throw new IllegalArgumentException("maxSize = " + maxSize + ": must be 0 (no limit) or more than the "
                    + SPECIAL.size() + " special words");
        }
        Map<String, Integer> counts = new HashMap<>();
        for (List<String> s : sentences) {
            for (String w : s) {
                if (!SPECIAL.contains(w)) {
                    counts.merge(w, 1, Integer::sum);
                }
            }
        }
        List<Map.Entry<String, Integer>> kept = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (e.getValue() >= minCount) {
                kept.add(e);
            }
        }
        kept.sort((a, b) -> a.getValue().equals(b.getValue()) ? a.getKey().compareTo(b.getKey()) : b.getValue() - a.getValue());
        List<String> words = new ArrayList<>(SPECIAL);
        for (Map.Entry<String, Integer> e : kept) {
            if (maxSize != 0 && words.size() == maxSize) {
                break;
            }
            words.add(e.getKey());
        }
        return new WordVocabulary(words);
    }

    /**
     * @param words every entry in id order, starting with {@link #SPECIAL}
     * @return the vocabulary
     */
    public static WordVocabulary of(List<String> words) {
        Objects.requireNonNull(words, "words");
        if (words.size() < SPECIAL.size() || !words.subList(0, SPECIAL.size()).equals(SPECIAL)) {
            throw new IllegalArgumentException("a BiLSTM vocabulary starts with " + SPECIAL + " (ids 0, 1, 2); got "
                    + words.subList(0, Math.min(3, words.size())));
        }
        return new WordVocabulary(words);
    }

    /**
     * @param file a {@code vocab.txt} written by {@link #write}
     * @return the vocabulary
     * @throws IOException if it cannot be read
     */
    public static WordVocabulary read(Path file) throws IOException {
        return of(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    /**
     * @param file where to write, one word per line
     * @throws IOException if it cannot be written
     */
    public void write(Path file) throws IOException {
        Files.writeString(file, String.join("\n", words) + "\n", StandardCharsets.UTF_8);
    }

    /** @return the number of entries, special words included */
    public int size() {
        return words.size();
    }

    /** @return the entries in id order */
    public List<String> words() {
        return words;
    }

    /**
     * @param word a word
     * @return its id, or {@code [UNK]}'s
     */
    public int id(String word) {
        Integer id = ids.get(word);
        return id == null ? 1 : id;
    }

    /**
     * @param sentence words
     * @return their ids
     */
    public int[] ids(List<String> sentence) {
        int[] out = new int[sentence.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = id(sentence.get(i));
        }
        return out;
    }
}
