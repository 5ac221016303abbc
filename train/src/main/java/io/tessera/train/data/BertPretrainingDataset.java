package io.tessera.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * BERT pretraining examples from a {@link Corpus}: sentence pairs with next-sentence
 * prediction (BERT) or sentence-order prediction (ALBERT), or packed full sentences (RoBERTa),
 * masked anew in every epoch.
 *
 * <p>Construction (once, a function of the corpus, the tokenizer and the config's seed):
 *
 * <pre>
 *  NEXT_SENTENCE_PREDICTION, per document d, with random(seed, CONSTRUCTION, d) — Google's
 *  create_instances_from_document:
 *    target = T-3, or with probability shortSeqProbability a length in [2, T-3]
 *    gather sentences into a chunk until it holds target tokens (or the document ends)
 *    A = the chunk's first a sentences, a uniform in [1, chunk-1]
 *    with probability 0.5: B = sentences from a random other document, from a random start,
 *                          until target-|A| tokens; the chunk's unused sentences go back
 *    otherwise:            B = the rest of the chunk (label 0)
 *    truncate the longer of A and B, at the front or the back with equal chance, until
 *    |A|+|B| &lt;= T-3;  emit  [CLS] A [SEP] B [SEP],  token types 0…0 1…1, label 1 if random
 *
 *  SENTENCE_ORDER_PREDICTION (ALBERT), per document d, with random(seed, CONSTRUCTION, d):
 *    target and chunks as above; a chunk of one sentence takes the document's next one too
 *    A = the chunk's first a sentences, a uniform in [1, chunk-1];  B = the rest of the chunk
 *    with probability 0.5 swap them: emit [CLS] B [SEP] A [SEP] with label 1, else
 *    [CLS] A [SEP] B [SEP] with label 0 (truncation as above); both segments always come from
 *    the same document, consecutive. A lone last sentence of a document makes no example.
 *
 *  FULL_SENTENCES (no randomness): walk all sentences in corpus order and pack them into
 *    [CLS] s1 s2 … [SEP] of at most T tokens; a sentence that does not fit starts the next
 *    example; where a document ends inside an example an extra [SEP] separates them; a
 *    sentence longer than T-2 is cut into consecutive pieces. Label -100, token types 0.
 * </pre>
 *
 * <p>One deviation from Google's script: when a chunk holds a single sentence (a very long
 * sentence, or a short target) and the coin says "actual next", B is the document's next
 * sentence instead of a forced random one, so the share of random pairs stays at 50% rather
 * than drifting above it. Only a lone last sentence of a document is forced to a random B.
 * A one-document corpus draws "random" B from that same document.
 *
 * <p>Masking ({@link DynamicMasking}): example {@code i} of epoch {@code e} is masked with
 * {@code random(seed, MASKING, e, i)}, so it depends on (seed, epoch, index) only.
 *
 * <p>Thread safety: immutable after {@link #create}; {@link #example} may be called from
 * any number of threads.
 */
public final class BertPretrainingDataset implements ExampleDataset {

    private final BertDataConfig config;
    private final Vocabulary vocabulary;
    private final DynamicMasking masking;
    private final int[][] instances;
    private final int[] typeStarts;
    private final int[] nextSentenceLabels;

    private BertPretrainingDataset(BertDataConfig config, Vocabulary vocabulary, List<int[]> instances,
                                   IntList typeStarts, IntList nextSentenceLabels) {
        this.config = config;
        this.vocabulary = vocabulary;
        this.masking = new DynamicMasking(vocabulary, config);
        this.instances = instances.toArray(new int[0][]);
        this.typeStarts = typeStarts.toArray();
        this.nextSentenceLabels = nextSentenceLabels.toArray();
    }

    /**
     * Tokenizes the corpus and builds the examples.
     *
     * @param corpus    the training corpus
     * @param tokenizer the WordPiece tokenizer
     * @param config    lengths, objective, masking and seed
     * @return the dataset
     * @throws IllegalArgumentException if no sentence of the corpus yields a token
     */
    public static BertPretrainingDataset create(Corpus corpus, WordPieceTokenizer tokenizer, BertDataConfig config) {
        List<List<int[]>> documents = tokenize(corpus, tokenizer);
        Vocabulary vocab = tokenizer.vocabulary();
        List<int[]> instances = new ArrayList<>();
        IntList typeStarts = new IntList(1024);
        IntList labels = new IntList(1024);
        if (config.objective() == BertDataConfig.Objective.NEXT_SENTENCE_PREDICTION) {
            for (int d = 0; d < documents.size(); d++) {
                SplittableRandom random = Seeds.random(config.seed(), Seeds.CONSTRUCTION, d);
                sentencePairs(documents, d, config, vocab, random, instances, typeStarts, labels);
            }
        } else if (config.objective() == BertDataConfig.Objective.SENTENCE_ORDER_PREDICTION) {
            for (int d = 0; d < documents.size(); d++) {
                SplittableRandom random = Seeds.random(config.seed(), Seeds.CONSTRUCTION, d);
                sentenceOrderPairs(documents.get(d), config, vocab, random, instances, typeStarts, labels);
            }
        } else {
            fullSentences(documents, config.maxSeqLength(), vocab, instances, typeStarts, labels);
        }
        return new BertPretrainingDataset(config, vocab, instances, typeStarts, labels);
    }

    /** Documents as lists of non-empty token sequences, each document non-empty. */
    static List<List<int[]>> tokenize(Corpus corpus, WordPieceTokenizer tokenizer) {
        List<List<int[]>> documents = new ArrayList<>();
        for (Document document : corpus.documents()) {
            List<int[]> sentences = new ArrayList<>();
            for (String sentence : document.sentences()) {
                int[] ids = tokenizer.encode(sentence);
                if (ids.length > 0) {
                    sentences.add(ids);
                }
            }
            if (!sentences.isEmpty()) {
                documents.add(sentences);
            }
        }
        if (documents.isEmpty()) {
            throw new IllegalArgumentException("Corpus " + corpus.source() + " yields no tokens: every sentence"
                    + " tokenizes to nothing (control characters only?); pass a corpus with text, such as"
                    + " data/wikitext-2/valid.txt");
        }
        return documents;
    }

    private static void sentencePairs(List<List<int[]>> documents, int d, BertDataConfig config, Vocabulary vocab,
                                      SplittableRandom random, List<int[]> out, IntList typeStarts, IntList labels) {
        List<int[]> document = documents.get(d);
        int maxTokens = config.maxSeqLength() - 3;
        int target = maxTokens;
        if (random.nextDouble() < config.shortSeqProbability()) {
            target = 2 + random.nextInt(maxTokens - 1);
        }
        List<int[]> chunk = new ArrayList<>();
        int chunkLength = 0;
        int i = 0;
        while (i < document.size()) {
            chunk.add(document.get(i));
            chunkLength += document.get(i).length;
            if (i == document.size() - 1 || chunkLength >= target) {
                int aEnd = chunk.size() >= 2 ? 1 + random.nextInt(chunk.size() - 1) : 1;
                IntList a = new IntList(chunkLength);
                for (int j = 0; j < aEnd; j++) {
                    a.addAll(chunk.get(j));
                }
                boolean randomNext = random.nextDouble() < 0.5;
                if (!randomNext && chunk.size() == 1) {
                    if (i + 1 < document.size()) {
                        chunk.add(document.get(++i));
                    } else {
                        randomNext = true;
                    }
                }
                IntList b = new IntList(target);
                if (randomNext) {
                    int other = d;
                    if (documents.size() > 1) {
                        other = random.nextInt(documents.size() - 1);
                        other += other >= d ? 1 : 0;
                    }
                    List<int[]> otherDocument = documents.get(other);
                    int targetB = target - a.size();
                    for (int j = random.nextInt(otherDocument.size()); j < otherDocument.size(); j++) {
                        b.addAll(otherDocument.get(j));
                        if (b.size() >= targetB) {
                            break;
                        }
                    }
                    i -= chunk.size() - aEnd;
                } else {
                    for (int j = aEnd; j < chunk.size(); j++) {
                        b.addAll(chunk.get(j));
                    }
                }
                out.add(truncatedPair(a, b, maxTokens, vocab, random, typeStarts));
                labels.add(randomNext ? 1 : 0);
                chunk.clear();
                chunkLength = 0;
            }
            i++;
        }
    }

    /** ALBERT's sentence-order pairs of one document (see the class comment). */
    private static void sentenceOrderPairs(List<int[]> document, BertDataConfig config, Vocabulary vocab,
                                           SplittableRandom random, List<int[]> out, IntList typeStarts, IntList labels) {
        int maxTokens = config.maxSeqLength() - 3;
        int target = maxTokens;
        if (random.nextDouble() < config.shortSeqProbability()) {
            target = 2 + random.nextInt(maxTokens - 1);
        }
        List<int[]> chunk = new ArrayList<>();
        int chunkLength = 0;
        for (int i = 0; i < document.size(); i++) {
            chunk.add(document.get(i));
            chunkLength += document.get(i).length;
            if (i == document.size() - 1 || chunkLength >= target) {
                if (chunk.size() == 1 && i + 1 < document.size()) {
                    chunk.add(document.get(++i));
                }
                if (chunk.size() >= 2) {
                    int aEnd = 1 + random.nextInt(chunk.size() - 1);
                    IntList a = new IntList(chunkLength);
                    IntList b = new IntList(chunkLength);
                    for (int j = 0; j < chunk.size(); j++) {
                        (j < aEnd ? a : b).addAll(chunk.get(j));
                    }
                    boolean swapped = random.nextDouble() < 0.5;
                    out.add(truncatedPair(swapped ? b : a, swapped ? a : b, maxTokens, vocab, random, typeStarts));
                    labels.add(swapped ? 1 : 0);
                }
                chunk.clear();
                chunkLength = 0;
            }
        }
    }

    /**
     * BERT's truncate_seq_pair, then {@code [CLS] A [SEP] B [SEP]}; records where segment B
     * starts in {@code typeStarts}.
     */
    private static int[] truncatedPair(IntList a, IntList b, int maxTokens, Vocabulary vocab,
                                       SplittableRandom random, IntList typeStarts) {
        int aFrom = 0;
        int aTo = a.size();
        int bFrom = 0;
        int bTo = b.size();
        while ((aTo - aFrom) + (bTo - bFrom) > maxTokens) {
            boolean truncateA = (aTo - aFrom) > (bTo - bFrom);
            boolean front = random.nextDouble() < 0.5;
            if (truncateA) {
                if (front) {
                    aFrom++;
                } else {
                    aTo--;
                }
            } else if (front) {
                bFrom++;
            } else {
                bTo--;
            }
        }
        int aLength = aTo - aFrom;
        int bLength = bTo - bFrom;
        int[] tokens = new int[aLength + bLength + 3];
        tokens[0] = vocab.clsId();
        for (int j = 0; j < aLength; j++) {
            tokens[1 + j] = a.get(aFrom + j);
        }
        tokens[1 + aLength] = vocab.sepId();
        for (int j = 0; j < bLength; j++) {
            tokens[2 + aLength + j] = b.get(bFrom + j);
        }
        tokens[tokens.length - 1] = vocab.sepId();
        typeStarts.add(2 + aLength);
        return tokens;
    }

    private static void fullSentences(List<List<int[]>> documents, int seqLength, Vocabulary vocab,
                                      List<int[]> out, IntList typeStarts, IntList labels) {
        int maxTokens = seqLength - 2;
        IntList current = new IntList(maxTokens);
        for (List<int[]> document : documents) {
            boolean newDocument = true;
            for (int[] sentence : document) {
                int separator = newDocument && !current.isEmpty() ? 1 : 0;
                if (!current.isEmpty() && current.size() + separator + sentence.length > maxTokens) {
                    emitPacked(current, vocab, out, typeStarts, labels);
                    separator = 0;
                }
                if (separator == 1) {
                    current.add(vocab.sepId());
                }
                int from = 0;
                while (sentence.length - from > maxTokens - current.size()) {
                    int take = maxTokens - current.size();
                    current.addAll(sentence, from, from + take);
                    from += take;
                    emitPacked(current, vocab, out, typeStarts, labels);
                }
                current.addAll(sentence, from, sentence.length);
                newDocument = false;
            }
        }
        if (!current.isEmpty()) {
            emitPacked(current, vocab, out, typeStarts, labels);
        }
    }

    private static void emitPacked(IntList current, Vocabulary vocab, List<int[]> out, IntList typeStarts,
                                   IntList labels) {
        int[] tokens = new int[current.size() + 2];
        tokens[0] = vocab.clsId();
        for (int j = 0; j < current.size(); j++) {
            tokens[1 + j] = current.get(j);
        }
        tokens[tokens.length - 1] = vocab.sepId();
        out.add(tokens);
        typeStarts.add(tokens.length);
        labels.add(Batch.IGNORE_INDEX);
        current.clear();
    }

    @Override
    public int size() {
        return instances.length;
    }

    @Override
    public int seqLength() {
        return config.maxSeqLength();
    }

    @Override
    public long seed() {
        return config.seed();
    }

    /** @return the config the dataset was built with */
    public BertDataConfig config() {
        return config;
    }

    /** @return the vocabulary of the ids */
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /**
     * Returns example {@code index} masked as in {@code epoch}.
     *
     * @param epoch the epoch, from 0
     * @param index the example index in {@code [0, size())}
     * @return a new masked, padded example
     * @throws IllegalArgumentException if the epoch is negative or the index out of range
     */
    @Override
    public Example example(int epoch, int index) {
        checkIndex(index);
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch is " + epoch + "; epochs count from 0");
        }
        SplittableRandom random = Seeds.random(config.seed(), Seeds.MASKING, epoch, index);
        return masking.apply(instances[index], typeStarts[index], nextSentenceLabels[index], seqLength(), random);
    }

    /**
     * Returns example {@code index} before masking: the original ids, labels all -100.
     *
     * @param index the example index in {@code [0, size())}
     * @return a new padded example
     */
    public Example unmaskedExample(int index) {
        checkIndex(index);
        return DynamicMasking.padded(instances[index], typeStarts[index], nextSentenceLabels[index], seqLength(),
                vocabulary.padId());
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= instances.length) {
            throw new IllegalArgumentException("Example index " + index + " is outside [0, " + instances.length
                    + ") of this dataset");
        }
    }

    @Override
    public String toString() {
        return "BertPretrainingDataset[" + instances.length + " examples, " + config + "]";
    }
}
