package io.tessera.train.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Shared fixtures over the shipped WikiText-2 corpus, built once per test JVM: the vocabulary
 * takes about a second and every test class reads it.
 */
final class TestData {

    static final int VOCAB_SIZE = 8000;
    static final long SEED = 1234;

    private static Corpus trainCorpus;
    private static Vocabulary vocabulary;
    private static long trainMillis;
    private static BertPretrainingDataset nspDataset;

    private TestData() {
    }

    static Path wikiTextDir() {
        return WikiText2.find(Path.of("")).orElseThrow(() -> new IllegalStateException(
                "data/wikitext-2/valid.txt not found from " + Path.of("").toAbsolutePath()
                        + " or its parents; run the tests inside the Tessera repository"));
    }

    static synchronized Corpus trainCorpus() {
        if (trainCorpus == null) {
            try {
                trainCorpus = Corpus.loadWikiText(WikiText2.trainFile(wikiTextDir()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return trainCorpus;
    }

    static synchronized Vocabulary vocabulary() {
        if (vocabulary == null) {
            long start = System.nanoTime();
            vocabulary = WordPieceTrainer.builder().setVocabSize(VOCAB_SIZE).build().train(trainCorpus());
            trainMillis = (System.nanoTime() - start) / 1_000_000;
        }
        return vocabulary;
    }

    static synchronized long trainMillis() {
        vocabulary();
        return trainMillis;
    }

    static WordPieceTokenizer tokenizer() {
        return new WordPieceTokenizer(vocabulary(), true);
    }

    static synchronized BertPretrainingDataset nspDataset() {
        if (nspDataset == null) {
            nspDataset = BertPretrainingDataset.create(trainCorpus(), tokenizer(),
                    BertDataConfig.builder().optMaxSeqLength(128).optSeed(SEED).build());
        }
        return nspDataset;
    }

    /** A tiny vocabulary over the given ordinary tokens, specials first. */
    static Vocabulary smallVocabulary(String... tokens) {
        List<String> all = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        all.addAll(List.of(tokens));
        return Vocabulary.of(all);
    }
}
