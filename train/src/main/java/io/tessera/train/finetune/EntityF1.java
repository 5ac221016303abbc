package io.tessera.train.finetune;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Entity-level precision, recall and F1 as CoNLL's {@code conlleval} script computes them: tags are
 * read into entities (chunks), and a predicted entity counts as correct only when an entity of the
 * same type covers exactly the same words in the gold tags.
 *
 * <pre>
 *   tags:   B-X  I-X  O  I-Y  B-Y  I-Y      (IOB1 or IOB2; the type follows the dash)
 *   chunks: X[0,2)       Y[3,4)  Y[4,6)
 *
 *   a chunk starts at   B-T;  I-T after O, after the sentence start, or after a chunk of another type
 *   a chunk ends before B-T, O, the sentence end, or a tag of another type
 *
 *   precision = correct / predicted     recall = correct / gold     F1 = 2·P·R / (P + R)   (0 when P + R = 0)
 * </pre>
 *
 * <p>So {@code I-PER} without a {@code B-PER} before it starts a PER entity, as in {@code conlleval};
 * an entity that reaches the last word of a sentence ends there; micro-averaged over all entities, and
 * per type. Tags other than {@code O}, {@code B-T} and {@code I-T} are refused.
 *
 * <p>Thread safety: not thread-safe; accumulate on one thread, then read.
 */
public final class EntityF1 {

    /** Precision, recall and F1 of one entity type (or of all, micro-averaged), with the counts they come from. */
    public record Score(long correct, long predicted, long gold) {
        /** @return correct / predicted, 0 when nothing was predicted */
        public double precision() {
            return predicted == 0 ? 0 : (double) correct / predicted;
        }

        /** @return correct / gold, 0 when there is no gold entity */
        public double recall() {
            return gold == 0 ? 0 : (double) correct / gold;
        }

        /** @return the harmonic mean of precision and recall, 0 when both are 0 */
        public double f1() {
            double p = precision();
            double r = recall();
            return p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
    }

    private final Map<String, long[]> byType = new TreeMap<>(); // type → {correct, predicted, gold}
    private long sentences;

    /** A scorer that learns the entity types from the tags it is given. */
    public EntityF1() {
    }

    /**
     * A scorer with a fixed list of entity types, so that scorers of several data-parallel ranks lay out
     * their {@link #counts()} alike and can be summed.
     *
     * @param types the entity types, e.g. from {@link #types(List)} of the task's labels
     */
    public EntityF1(List<String> types) {
        types.forEach(this::counts);
    }

    /**
     * @param labels IOB labels such as {@code O, B-LOC, I-LOC, B-PER}
     * @return their entity types, sorted: {@code LOC, PER}
     */
    public static List<String> types(List<String> labels) {
        java.util.TreeSet<String> t = new java.util.TreeSet<>();
        for (int i = 0; i < labels.size(); i++) {
            if (prefix(labels.get(i), i) != 'O') {
                t.add(labels.get(i).substring(2));
            }
        }
        return List.copyOf(t);
    }

    /** @return {correct, predicted, gold} per type in type order, then the sentence count: for summing over ranks */
    public double[] counts() {
        double[] out = new double[3 * byType.size() + 1];
        int i = 0;
        for (long[] v : byType.values()) {
            out[i++] = v[0];
            out[i++] = v[1];
            out[i++] = v[2];
        }
        out[i] = sentences;
        return out;
    }

    /**
     * Replaces the counts with summed ones (from {@link #counts()} of scorers with the same types).
     *
     * @param summed the counts
     */
    public void setCounts(double[] summed) {
        if (summed.length != 3 * byType.size() + 1) {
            throw new IllegalArgumentException(summed.length + " counts for " + byType.size() + " entity types; sum the counts of"
                    + " scorers built with the same types");
        }
        int i = 0;
        for (long[] v : byType.values()) {
            v[0] = Math.round(summed[i++]);
            v[1] = Math.round(summed[i++]);
            v[2] = Math.round(summed[i++]);
        }
        sentences = Math.round(summed[i]);
    }

    /**
     * Adds one sentence.
     *
     * @param gold the gold tags, one per word
     * @param predicted the predicted tags, one per word
     * @throws IllegalArgumentException if the lengths differ or a tag is malformed
     */
    public void add(List<String> gold, List<String> predicted) {
        Objects.requireNonNull(gold, "gold");
        Objects.requireNonNull(predicted, "predicted");
        if (gold.size() != predicted.size()) {
            throw new IllegalArgumentException("sentence " + sentences + ": " + gold.size() + " gold tags but " + predicted.size()
                    + " predicted; predict one tag per word");
        }
        List<EntitySpan> g = entities(gold);
        List<EntitySpan> p = entities(predicted);
        Set<EntitySpan> goldSet = new HashSet<>(g);
        for (EntitySpan e : g) {
            counts(e.type())[2]++;
        }
        for (EntitySpan e : p) {
            long[] c = counts(e.type());
            c[1]++;
            if (goldSet.contains(e)) {
                c[0]++;
            }
        }
        sentences++;
    }

    /** @return the micro-averaged score over every entity type */
    public Score overall() {
        long c = 0;
        long p = 0;
        long g = 0;
        for (long[] v : byType.values()) {
            c += v[0];
            p += v[1];
            g += v[2];
        }
        return new Score(c, p, g);
    }

    /** @return the score of each entity type seen in the gold or predicted tags, by type name */
    public Map<String, Score> byType() {
        Map<String, Score> out = new TreeMap<>();
        byType.forEach((t, v) -> out.put(t, new Score(v[0], v[1], v[2])));
        return out;
    }

    /** @return the sentences added */
    public long sentences() {
        return sentences;
    }

    private long[] counts(String type) {
        return byType.computeIfAbsent(type, k -> new long[3]);
    }

    /**
     * Reads a sentence's tags into entities by {@code conlleval}'s chunk rules.
     *
     * @param tags one tag per word: {@code O}, {@code B-T} or {@code I-T}
     * @return the entities, in order
     * @throws IllegalArgumentException naming the first malformed tag
     */
    public static List<EntitySpan> entities(List<String> tags) {
        List<EntitySpan> out = new ArrayList<>();
        String type = null; // type of the open chunk, or null
        int start = -1;
        for (int i = 0; i <= tags.size(); i++) {
            String tag = i < tags.size() ? tags.get(i) : "O";
            char prefix = prefix(tag, i);
            String t = prefix == 'O' ? null : tag.substring(2);
            boolean continues = type != null && prefix == 'I' && t.equals(type);
            if (type != null && !continues) {
                out.add(new EntitySpan(type, start, i));
                type = null;
            }
            if (prefix != 'O' && !continues) {
                type = t;
                start = i;
            }
        }
        return out;
    }

    private static char prefix(String tag, int index) {
        Objects.requireNonNull(tag, "tag");
        if (tag.equals("O")) {
            return 'O';
        }
        if (tag.length() > 2 && (tag.startsWith("B-") || tag.startsWith("I-"))) {
            return tag.charAt(0);
        }
        throw new IllegalArgumentException("tag '" + tag + "' at word " + index + " is not O, B-TYPE or I-TYPE;"
                + " entity F1 reads IOB tags (IOB2 as CoNLL-2003 ships, or IOB1)");
    }
}
