package io.tessera.train.distill.bilstm;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A coarse part-of-speech lexicon built from unlabelled training sentences, for the augmentation's
 * "replace a word by a random word of the same part of speech" rule (the shipped SST-2 and CoNLL-2003
 * files carry no POS tags). Each distinct word gets one {@link Tag}, decided in this order:
 *
 * <ol>
 *   <li><b>closed-class lists</b>: punctuation, numerals (digits), and fixed English lists of
 *       determiners, pronouns, prepositions, conjunctions, auxiliaries/copulas and particles
 *       ({@code not}, {@code n't}, {@code to}, {@code 's});
 *   <li><b>suffix rules</b> for open-class words (longer than 4 letters): {@code -ly} → ADV;
 *       {@code -ing}, {@code -ed}, {@code -ize}, {@code -ise} → VERB; {@code -ous}, {@code -ful},
 *       {@code -ive}, {@code -able}, {@code -ible}, {@code -less}, {@code -ic}, {@code -al}, {@code -ish},
 *       {@code -est} → ADJ; {@code -tion}, {@code -sion}, {@code -ness}, {@code -ment}, {@code -ity},
 *       {@code -ism}, {@code -ist}, {@code -ship} → NOUN;
 *   <li><b>distributional rule</b> for the rest: the word's most frequent left neighbour in the
 *       sentences decides, NOUN after a determiner or possessive pronoun, ADJ after an intensifier
 *       ({@code very}, {@code so}, {@code too}, …) or a copula ({@code is}, {@code was}, …);
 *   <li>otherwise {@link Tag#OTHER} (an open-class word with no cue).
 * </ol>
 *
 * <p>A replacement is drawn from the words of the same tag with probability proportional to their
 * count in the sentences (the paper's unigram distribution re-normalised by tag).
 *
 * <p>Thread safety: immutable after construction; {@link #replacement} uses the caller's RNG.
 */
public final class PosLexicon {

    /** The coarse tags. */
    public enum Tag { PUNCT, NUM, DET, PRON, ADP, CONJ, AUX, PART, ADV, VERB, ADJ, NOUN, OTHER }

    private static final Map<String, Tag> CLOSED = new HashMap<>();
    private static final Set<String> INTENSIFIERS = Set.of("very", "so", "too", "most", "more", "quite", "really", "pretty",
            "rather", "extremely", "less", "least", "fairly", "truly", "utterly");

    static {
        closed(Tag.DET, "the a an this that these those some any every each no another such what which whose all both either"
                + " neither");
        closed(Tag.PRON, "i me my mine you your yours he him his she her hers it its we us our ours they them their theirs"
                + " myself yourself himself herself itself ourselves themselves who whom one");
        closed(Tag.ADP, "of in on at by for with about against between into through during before after above below from"
                + " up down out off over under than like without within along across behind beyond upon toward towards"
                + " among around");
        closed(Tag.CONJ, "and or but nor yet because although though while if unless whether as");
        closed(Tag.AUX, "is are was were be been being am do does did have has had will would shall should can could may"
                + " might must ca wo 're 've 'll 'd 'm");
        closed(Tag.PART, "not n't to 's");
    }

    private final Map<String, Tag> tags;
    private final Map<Tag, List<String>> words = new EnumMap<>(Tag.class);
    private final Map<Tag, long[]> cumulative = new EnumMap<>(Tag.class);

    private static void closed(Tag tag, String list) {
        for (String w : list.split(" ")) {
            CLOSED.putIfAbsent(w, tag);
        }
    }

    private PosLexicon(Map<String, Tag> tags, Map<String, Integer> counts) {
        this.tags = Map.copyOf(tags);
        Map<Tag, List<String>> byTag = new EnumMap<>(Tag.class);
        counts.keySet().stream().sorted().forEach(w -> byTag.computeIfAbsent(tags.get(w), t -> new ArrayList<>()).add(w));
        for (Map.Entry<Tag, List<String>> e : byTag.entrySet()) {
            List<String> ws = List.copyOf(e.getValue());
            long[] cum = new long[ws.size()];
            long sum = 0;
            for (int i = 0; i < cum.length; i++) {
                sum += counts.get(ws.get(i));
                cum[i] = sum;
            }
            words.put(e.getKey(), ws);
            cumulative.put(e.getKey(), cum);
        }
    }

    /**
     * @param sentences word lists (the original training sentences, split by {@link WordSplitter})
     * @return the lexicon of every word they hold
     */
    public static PosLexicon build(Collection<List<String>> sentences) {
        Map<String, Integer> counts = new HashMap<>();
        Map<String, Map<String, Integer>> left = new HashMap<>();
        for (List<String> s : sentences) {
            for (int i = 0; i < s.size(); i++) {
                counts.merge(s.get(i), 1, Integer::sum);
                if (i > 0) {
                    left.computeIfAbsent(s.get(i), k -> new HashMap<>()).merge(s.get(i - 1), 1, Integer::sum);
                }
            }
        }
        Map<String, Tag> tags = new HashMap<>();
        for (String w : counts.keySet()) {
            tags.put(w, tag(w, mostFrequent(left.get(w))));
        }
        return new PosLexicon(tags, counts);
    }

    /**
     * The tag of a word by the rules above.
     *
     * @param word a lower-cased word
     * @param leftNeighbour its most frequent left neighbour, or null
     * @return its tag
     */
    static Tag tag(String word, String leftNeighbour) {
        Tag closed = CLOSED.get(word);
        if (closed != null) {
            return closed;
        }
        if (word.chars().noneMatch(Character::isLetterOrDigit)) {
            return Tag.PUNCT;
        }
        if (word.chars().anyMatch(Character::isDigit) && word.chars().noneMatch(Character::isLetter)) {
            return Tag.NUM;
        }
        if (word.length() > 4) {
            Tag bySuffix = suffix(word);
            if (bySuffix != null) {
                return bySuffix;
            }
        }
        if (leftNeighbour != null) {
            Tag l = CLOSED.get(leftNeighbour);
            if (l == Tag.DET || (l == Tag.PRON && Set.of("my", "your", "his", "her", "its", "our", "their").contains(leftNeighbour))) {
                return Tag.NOUN;
            }
            if (INTENSIFIERS.contains(leftNeighbour) || (l == Tag.AUX && Set.of("is", "are", "was", "were", "be", "been", "am")
                    .contains(leftNeighbour))) {
                return Tag.ADJ;
            }
        }
        return Tag.OTHER;
    }

    private static Tag suffix(String w) {
        if (w.endsWith("ly")) {
            return Tag.ADV;
        }
        for (String s : List.of("ing", "ed", "ize", "ise")) {
            if (w.endsWith(s)) {
                return Tag.VERB;
            }
        }
        for (String s : List.of("ous", "ful", "ive", "able", "ible", "less", "ic", "al", "ish", "est")) {
            if (w.endsWith(s)) {
                return Tag.ADJ;
            }
        }
        for (String s : List.of("tion", "sion", "ness", "ment", "ity", "ism", "ist", "ship")) {
            if (w.endsWith(s)) {
                return Tag.NOUN;
            }
        }
        return null;
    }

    private static String mostFrequent(Map<String, Integer> counts) {
        if (counts == null) {
            return null;
        }
        String best = null;
        int n = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (e.getValue() > n || (e.getValue() == n && e.getKey().compareTo(best) < 0)) {
                best = e.getKey();
                n = e.getValue();
            }
        }
        return best;
    }

    /**
     * @param word a word of the sentences
     * @return its tag, or {@link Tag#OTHER} for a word the sentences did not hold
     */
    public Tag tagOf(String word) {
        return tags.getOrDefault(word, Tag.OTHER);
    }

    /**
     * @param tag a tag
     * @return its words, sorted
     */
    public List<String> wordsOf(Tag tag) {
        return words.getOrDefault(tag, List.of());
    }

    /**
     * A random word of the same tag, drawn by count (it may be the word itself).
     *
     * @param word the word to replace
     * @param rng the caller's RNG
     * @return the replacement
     */
    public String replacement(String word, Random rng) {
        Tag t = tagOf(word);
        long[] cum = cumulative.get(t);
        if (cum == null) {
            return word;
        }
        long r = (long) (rng.nextDouble() * cum[cum.length - 1]);
        int lo = 0;
        int hi = cum.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cum[mid] > r) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return words.get(t).get(lo);
    }
}
