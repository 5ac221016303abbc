package io.tessera.train.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds a WordPiece {@link Vocabulary} from text, the way Hugging Face's {@code tokenizers}
 * {@code WordPieceTrainer} does: byte-pair-encoding merges scored by frequency, with
 * {@code ##} marking pieces that continue a word.
 *
 * <ol>
 *   <li>Count words: every text goes through {@link BasicTokenizer} (lower-cased and
 *       accent-stripped when {@code lowerCase}); special tokens in the text are not
 *       counted.</li>
 *   <li>Alphabet: the characters of the counted words, at most {@code maxAlphabetSize}
 *       of them (the most frequent, ties by code point). The vocabulary starts as
 *       {@code [PAD] [UNK] [CLS] [SEP] [MASK]} (ids 0..4), then every alphabet character
 *       {@code c}, then every {@code ##c}, each group sorted by code point. Words with a
 *       character outside the alphabet, or longer than
 *       {@link WordPieceTokenizer#MAX_INPUT_CHARS_PER_WORD}, are left out of the merges:
 *       WordPiece maps them to {@code [UNK]} anyway.</li>
 *   <li>Merges: each word is a sequence of symbols ({@code c1 ##c2 ##c3 ...}). Repeatedly
 *       take the adjacent pair with the highest count (each word weighted by its frequency;
 *       ties broken by the smaller ids), add the merged piece ({@code "un" + "##aff" →
 *       "unaff"}, {@code "##aff" + "##able" → "##affable"}) to the vocabulary unless it is
 *       already there, and rewrite every word holding the pair. Stop when the vocabulary
 *       has {@code vocabSize} tokens, or when no pair occurs {@code minFrequency} times.</li>
 * </ol>
 *
 * <p>Only the resulting token set is kept: encoding uses WordPiece's greedy
 * longest-match-first ({@link WordPieceTokenizer}), not the merge order. Pair counts are
 * updated incrementally (only the words holding the merged pair are recounted), so 8,000
 * tokens from the 1.1 MB of {@code wikitext-2/valid.txt} take one to two seconds on a
 * 2-core build machine, word counting included.
 *
 * <pre>{@code
 * WordPieceTrainer trainer = WordPieceTrainer.builder().setVocabSize(8000).build();
 * Vocabulary vocab = trainer.train(Corpus.loadWikiText(WikiText2.trainFile(dataDir)));
 * WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, trainer.lowerCase());
 * }</pre>
 *
 * <p>One file on purpose: the merge loop and its incremental pair-count index are one algorithm whose
 * parts share the same arrays and counters.
 *
 * <p>Thread safety: immutable; {@code train} keeps its state on the stack, so one trainer
 * may train from several threads at once.
 */
public final class WordPieceTrainer {

    private final int vocabSize;
    private final boolean lowerCase;
    private final int minFrequency;
    private final int maxAlphabetSize;

    private WordPieceTrainer(Builder builder) {
        this.vocabSize = builder.vocabSize;
        this.lowerCase = builder.lowerCase;
        this.minFrequency = builder.minFrequency;
        this.maxAlphabetSize = builder.maxAlphabetSize;
    }

    /**
     * Starts a builder.
     *
     * @return a builder; {@code setVocabSize} is required
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the target vocabulary size, special tokens included */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return whether words are lower-cased and accent-stripped (BERT uncased) */
    public boolean lowerCase() {
        return lowerCase;
    }

    /** @return the smallest pair count a merge needs */
    public int minFrequency() {
        return minFrequency;
    }

    /** @return the largest number of distinct characters kept */
    public int maxAlphabetSize() {
        return maxAlphabetSize;
    }

    /**
     * Builds a vocabulary from the sentences of a corpus.
     *
     * @param corpus the training corpus
     * @return a vocabulary of at most {@code vocabSize} tokens
     * @throws IllegalArgumentException if the special tokens and the alphabet alone exceed
     *                                  {@code vocabSize}
     */
    public Vocabulary train(Corpus corpus) {
        return train(corpus.sentences(), corpus.source());
    }

    /**
     * Builds a vocabulary from texts.
     *
     * @param texts the training texts
     * @return a vocabulary of at most {@code vocabSize} tokens
     * @throws IllegalArgumentException if the texts hold no word, or if the special tokens
     *                                  and the alphabet alone exceed {@code vocabSize}
     */
    public Vocabulary train(Iterable<String> texts) {
        return train(texts, "the given texts");
    }

    private Vocabulary train(Iterable<String> texts, String source) {
        BasicTokenizer basic = new BasicTokenizer(lowerCase, Vocabulary.SPECIAL_TOKENS);
        Map<String, Long> wordCounts = new HashMap<>();
        for (String text : texts) {
            for (String word : basic.tokenize(text)) {
                if (!Vocabulary.SPECIAL_TOKENS.contains(word)) {
                    wordCounts.merge(word, 1L, Long::sum);
                }
            }
        }
        if (wordCounts.isEmpty()) {
            throw new IllegalArgumentException("No words to build a vocabulary from in " + source
                    + "; pass a corpus with text (for example data/wikitext-2/valid.txt)");
        }
        int[] alphabet = alphabet(wordCounts);
        List<String> tokens = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        for (int cp : alphabet) {
            tokens.add(new String(Character.toChars(cp)));
        }
        for (int cp : alphabet) {
            tokens.add(Vocabulary.CONTINUATION_PREFIX + new String(Character.toChars(cp)));
        }
        if (tokens.size() > vocabSize) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is smaller than the "
                    + Vocabulary.SPECIAL_TOKENS.size() + " special tokens plus " + 2 * alphabet.length
                    + " character pieces (" + alphabet.length + " characters, each also as ##c) of " + source
                    + "; raise vocabSize to at least " + tokens.size() + ", or lower maxAlphabetSize");
        }
        new Merger(tokens, wordCounts, alphabet).run();
        return Vocabulary.of(tokens);
    }

    private int[] alphabet(Map<String, Long> wordCounts) {
        Map<Integer, Long> charCounts = new HashMap<>();
        for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
            e.getKey().codePoints().forEach(cp -> charCounts.merge(cp, e.getValue(), Long::sum));
        }
        List<Map.Entry<Integer, Long>> entries = new ArrayList<>(charCounts.entrySet());
        entries.sort(Map.Entry.<Integer, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        return entries.stream().limit(maxAlphabetSize).mapToInt(Map.Entry::getKey).sorted().toArray();
    }

    /**
     * The BPE merge loop over one training call's word table.
     *
     * <p>Pair counts live in an open-addressing {@link PairTable}; a max-heap of (count, pair)
     * entries picks the next merge. An entry is pushed when a pair's count rises; when a
     * popped entry's count is no longer current, the pair is pushed again with its current
     * count, so the heap always holds an entry at least as high as each live pair's count.
     */
    private final class Merger {

        private final List<String> tokens;
        private final Map<String, Integer> tokenIds = new HashMap<>();
        private final int[][] symbols;
        private final int[] lengths;
        private final long[] frequencies;
        private final int[] lastVisit;
        private final PairTable pairs = new PairTable(1 << 16);
        private final PairHeap heap = new PairHeap(1 << 16);
        /**
         * Pairs whose count changed during the current merge (their counts before it are in
         * {@code PairTable.before}); kept as keys because slots move when the table grows.
         */
        private long[] touched = new long[1024];
        private int touchedCount;
        private int merge;

        Merger(List<String> tokens, Map<String, Long> wordCounts, int[] alphabet) {
            this.tokens = tokens;
            for (int id = 0; id < tokens.size(); id++) {
                tokenIds.put(tokens.get(id), id);
            }
            Set<Integer> allowed = new HashSet<>();
            for (int cp : alphabet) {
                allowed.add(cp);
            }
            // Sorted so that ids, and so tie-breaks, do not depend on hash order.
            TreeMap<String, Long> usable = new TreeMap<>();
            for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
                int[] cps = e.getKey().codePoints().toArray();
                boolean ok = cps.length <= WordPieceTokenizer.MAX_INPUT_CHARS_PER_WORD;
                for (int cp : cps) {
                    ok &= allowed.contains(cp);
                }
                if (ok) {
                    usable.put(e.getKey(), e.getValue());
                }
            }
            symbols = new int[usable.size()][];
            lengths = new int[usable.size()];
            frequencies = new long[usable.size()];
            lastVisit = new int[usable.size()];
            int w = 0;
            for (Map.Entry<String, Long> e : usable.entrySet()) {
                int[] cps = e.getKey().codePoints().toArray();
                int[] syms = new int[cps.length];
                for (int i = 0; i < cps.length; i++) {
                    String c = new String(Character.toChars(cps[i]));
                    syms[i] = tokenIds.get(i == 0 ? c : Vocabulary.CONTINUATION_PREFIX + c);
                }
                symbols[w] = syms;
                lengths[w] = syms.length;
                frequencies[w] = e.getValue();
                lastVisit[w] = -1;
                for (int i = 0; i + 1 < syms.length; i++) {
                    int slot = pairs.slotOf(pair(syms[i], syms[i + 1]));
                    pairs.counts[slot] += frequencies[w];
                    pairs.addWord(slot, w);
                }
                w++;
            }
            for (int slot = 0; slot < pairs.keys.length; slot++) {
                if (pairs.keys[slot] != PairTable.EMPTY) {
                    heap.push(pairs.counts[slot], pairs.keys[slot]);
                }
            }
        }

        void run() {
            while (tokens.size() < vocabSize && !heap.isEmpty()) {
                long stored = heap.topCount();
                long pair = heap.topPair();
                heap.pop();
                long current = pairs.counts[pairs.slotOf(pair)];
                if (current != stored) {
                    if (current > 0) {
                        heap.push(current, pair);
                    }
                    continue;
                }
                if (current < minFrequency) {
                    return;
                }
                apply(pair);
                merge++;
            }
        }

        private void apply(long pair) {
            int a = (int) (pair >>> 32);
            int b = (int) pair;
            String merged = tokens.get(a) + tokens.get(b).substring(Vocabulary.CONTINUATION_PREFIX.length());
            Integer existing = tokenIds.get(merged);
            int c;
            if (existing != null) {
                c = existing;
            } else {
                c = tokens.size();
                tokens.add(merged);
                tokenIds.put(merged, c);
            }
            touchedCount = 0;
            IntList words = pairs.takeWords(pairs.slotOf(pair));
            for (int k = 0; k < words.size(); k++) {
                int w = words.get(k);
                if (lastVisit[w] == merge) {
                    continue;
                }
                lastVisit[w] = merge;
                int[] syms = symbols[w];
                int n = lengths[w];
                for (int i = 0; i + 1 < n; i++) {
                    addCount(pair(syms[i], syms[i + 1]), -frequencies[w]);
                }
                int out = 0;
                for (int i = 0; i < n; i++) {
                    if (i + 1 < n && syms[i] == a && syms[i + 1] == b) {
                        syms[out++] = c;
                        i++;
                    } else {
                        syms[out++] = syms[i];
                    }
                }
                lengths[w] = out;
                for (int i = 0; i + 1 < out; i++) {
                    int slot = addCount(pair(syms[i], syms[i + 1]), frequencies[w]);
                    if (syms[i] == c || syms[i + 1] == c) {
                        pairs.addWord(slot, w);
                    }
                }
            }
            for (int k = 0; k < touchedCount; k++) {
                int slot = pairs.slotOf(touched[k]);
                if (pairs.counts[slot] > pairs.before[slot]) {
                    heap.push(pairs.counts[slot], pairs.keys[slot]);
                }
            }
        }

        private int addCount(long pair, long delta) {
            int slot = pairs.slotOf(pair);
            if (pairs.stamp[slot] != merge) {
                pairs.stamp[slot] = merge;
                pairs.before[slot] = pairs.counts[slot];
                if (touchedCount == touched.length) {
                    touched = Arrays.copyOf(touched, touchedCount * 2);
                }
                touched[touchedCount++] = pair;
            }
            pairs.counts[slot] += delta;
            return slot;
        }

        private long pair(int left, int right) {
            return ((long) left << 32) | (right & 0xFFFFFFFFL);
        }
    }

    /**
     * Open-addressing map from a symbol pair (two ids in one {@code long}) to its count and
     * the words that may hold it. Keys are never removed; a pair that disappears keeps count 0.
     */
    private static final class PairTable {

        static final long EMPTY = -1L;

        long[] keys;
        long[] counts;
        IntList[] words;
        /** The merge that last changed a slot's count, and the count before that merge. */
        int[] stamp;
        long[] before;
        private int size;

        PairTable(int capacity) {
            allocate(capacity);
        }

        private void allocate(int capacity) {
            keys = new long[capacity];
            counts = new long[capacity];
            words = new IntList[capacity];
            stamp = new int[capacity];
            before = new long[capacity];
            Arrays.fill(keys, EMPTY);
            Arrays.fill(stamp, -1);
        }

        /** Returns the slot of a pair, inserting it with count 0 if absent. */
        int slotOf(long key) {
            int mask = keys.length - 1;
            int slot = (int) mix(key) & mask;
            while (keys[slot] != EMPTY) {
                if (keys[slot] == key) {
                    return slot;
                }
                slot = (slot + 1) & mask;
            }
            if ((size + 1) * 2 > keys.length) {
                grow();
                return slotOf(key);
            }
            keys[slot] = key;
            size++;
            return slot;
        }

        void addWord(int slot, int word) {
            if (words[slot] == null) {
                words[slot] = new IntList(4);
            }
            words[slot].add(word);
        }

        /** Returns and forgets the words of a pair (the pair is being merged away). */
        IntList takeWords(int slot) {
            IntList taken = words[slot];
            words[slot] = null;
            return taken == null ? new IntList(0) : taken;
        }

        private void grow() {
            long[] oldKeys = keys;
            long[] oldCounts = counts;
            IntList[] oldWords = words;
            int[] oldStamp = stamp;
            long[] oldBefore = before;
            allocate(oldKeys.length * 2);
            size = 0;
            for (int i = 0; i < oldKeys.length; i++) {
                if (oldKeys[i] != EMPTY) {
                    int slot = slotOf(oldKeys[i]);
                    counts[slot] = oldCounts[i];
                    words[slot] = oldWords[i];
                    stamp[slot] = oldStamp[i];
                    before[slot] = oldBefore[i];
                }
            }
        }

        private static long mix(long key) {
            long z = key * 0x9E3779B97F4A7C15L;
            return z ^ (z >>> 29);
        }
    }

    /** Binary max-heap of (count, pair): highest count first, then the smaller pair. */
    private static final class PairHeap {

        private long[] counts;
        private long[] pairs;
        private int size;

        PairHeap(int capacity) {
            counts = new long[capacity];
            pairs = new long[capacity];
        }

        boolean isEmpty() {
            return size == 0;
        }

        long topCount() {
            return counts[0];
        }

        long topPair() {
            return pairs[0];
        }

        void push(long count, long pair) {
            if (size == counts.length) {
                counts = Arrays.copyOf(counts, size * 2);
                pairs = Arrays.copyOf(pairs, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!before(count, pair, counts[parent], pairs[parent])) {
                    break;
                }
                counts[i] = counts[parent];
                pairs[i] = pairs[parent];
                i = parent;
            }
            counts[i] = count;
            pairs[i] = pair;
        }

        void pop() {
            long count = counts[--size];
            long pair = pairs[size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && before(counts[child + 1], pairs[child + 1], counts[child], pairs[child])) {
                    child++;
                }
                if (!before(counts[child], pairs[child], count, pair)) {
                    break;
                }
                counts[i] = counts[child];
                pairs[i] = pairs[child];
                i = child;
            }
            counts[i] = count;
            pairs[i] = pair;
        }

        private static boolean before(long countA, long pairA, long countB, long pairB) {
            return countA > countB || (countA == countB && pairA < pairB);
        }
    }

    /**
     * Builder of {@link WordPieceTrainer}; {@code set*} is required, {@code opt*} optional.
     *
     * <p>Thread safety: not thread-safe; build on one thread.
     */
    public static final class Builder {

        private int vocabSize = -1;
        private boolean lowerCase = true;
        private int minFrequency = 2;
        private int maxAlphabetSize = 1000;

        private Builder() {
        }

        /**
         * Sets the target vocabulary size, the five special tokens included (BERT: 30,522).
         *
         * @param vocabSize at least 6
         * @return this builder
         */
        public Builder setVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /**
         * Sets uncased (default, lower-case and strip accents) or cased tokenization.
         *
         * @param lowerCase {@code true} for uncased
         * @return this builder
         */
        public Builder optLowerCase(boolean lowerCase) {
            this.lowerCase = lowerCase;
            return this;
        }

        /**
         * Sets the smallest pair count that may still be merged (default 2, as Hugging Face's
         * BERT WordPiece trainer).
         *
         * @param minFrequency at least 1
         * @return this builder
         */
        public Builder optMinFrequency(int minFrequency) {
            this.minFrequency = minFrequency;
            return this;
        }

        /**
         * Sets how many distinct characters are kept, most frequent first (default 1,000, as
         * Hugging Face's {@code limit_alphabet} for BERT).
         *
         * @param maxAlphabetSize at least 1
         * @return this builder
         */
        public Builder optMaxAlphabetSize(int maxAlphabetSize) {
            this.maxAlphabetSize = maxAlphabetSize;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the trainer
         * @throws IllegalArgumentException naming the field, its value and the rule
         */
        public WordPieceTrainer build() {
            int minVocab = Vocabulary.SPECIAL_TOKENS.size() + 1;
            if (vocabSize < minVocab) {
                throw new IllegalArgumentException("vocabSize is " + vocabSize + "; it must be at least " + minVocab
                        + " (the " + Vocabulary.SPECIAL_TOKENS.size() + " special tokens and one piece): call"
                        + " setVocabSize with e.g. 8000 for WikiText-2 or 30522 for BERT's size");
            }
            if (minFrequency < 1) {
                throw new IllegalArgumentException("minFrequency is " + minFrequency
                        + "; it must be at least 1: use 2 (the default) or more");
            }
            if (maxAlphabetSize < 1) {
                throw new IllegalArgumentException("maxAlphabetSize is " + maxAlphabetSize
                        + "; it must be at least 1: use 1000 (the default)");
            }
            return new WordPieceTrainer(this);
        }
    }
}
