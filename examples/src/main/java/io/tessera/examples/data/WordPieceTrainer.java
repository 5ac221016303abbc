package io.tessera.examples.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
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
 * tokens from the 1.1 MB of {@code wikitext-2/valid.txt} take about a second.
 *
 * <pre>{@code
 * WordPieceTrainer trainer = WordPieceTrainer.builder().setVocabSize(8000).build();
 * Vocabulary vocab = trainer.train(Corpus.loadWikiText(WikiText2.trainFile(dataDir)));
 * WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, trainer.lowerCase());
 * }</pre>
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

    /** The BPE merge loop over one training call's word table. */
    private final class Merger {

        private final List<String> tokens;
        private final Map<String, Integer> tokenIds = new HashMap<>();
        private final int[][] symbols;
        private final int[] lengths;
        private final long[] frequencies;
        private final int[] lastVisit;
        private final Map<Long, Long> pairCounts = new HashMap<>();
        private final Map<Long, IntList> pairWords = new HashMap<>();
        /** Entries {count, pair}; stale ones (count no longer current) are skipped when popped. */
        private final PriorityQueue<long[]> queue = new PriorityQueue<>(
                Comparator.<long[]>comparingLong(e -> -e[0]).thenComparingLong(e -> e[1]));

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
                    long pair = pair(syms[i], syms[i + 1]);
                    pairCounts.merge(pair, frequencies[w], Long::sum);
                    pairWords.computeIfAbsent(pair, k -> new IntList(4)).add(w);
                }
                w++;
            }
            for (Map.Entry<Long, Long> e : pairCounts.entrySet()) {
                queue.add(new long[] {e.getValue(), e.getKey()});
            }
        }

        void run() {
            int merge = 0;
            while (tokens.size() < vocabSize) {
                long[] top = queue.poll();
                if (top == null) {
                    return;
                }
                long current = pairCounts.getOrDefault(top[1], 0L);
                if (current != top[0] || current == 0) {
                    continue;
                }
                if (current < minFrequency) {
                    return;
                }
                apply(top[1], merge++);
            }
        }

        private void apply(long pair, int merge) {
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
            Set<Long> changed = new HashSet<>();
            IntList words = pairWords.remove(pair);
            for (int k = 0; k < words.size(); k++) {
                int w = words.get(k);
                if (lastVisit[w] == merge) {
                    continue;
                }
                lastVisit[w] = merge;
                int[] syms = symbols[w];
                int n = lengths[w];
                for (int i = 0; i + 1 < n; i++) {
                    long p = pair(syms[i], syms[i + 1]);
                    pairCounts.merge(p, -frequencies[w], Long::sum);
                    changed.add(p);
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
                    long p = pair(syms[i], syms[i + 1]);
                    pairCounts.merge(p, frequencies[w], Long::sum);
                    changed.add(p);
                    if (syms[i] == c || syms[i + 1] == c) {
                        pairWords.computeIfAbsent(p, key -> new IntList(4)).add(w);
                    }
                }
            }
            for (long p : changed) {
                long count = pairCounts.getOrDefault(p, 0L);
                if (count > 0) {
                    queue.add(new long[] {count, p});
                } else {
                    pairCounts.remove(p);
                }
            }
        }

        private long pair(int left, int right) {
            return ((long) left << 32) | (right & 0xFFFFFFFFL);
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
