package io.tessera.train;

import io.tessera.train.data.BertDataConfig;
import io.tessera.train.data.BertPretrainingDataset;
import io.tessera.train.data.Corpus;
import io.tessera.train.data.Gpt2Dataset;
import io.tessera.train.data.ExampleDataset;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WikiText2;
import io.tessera.train.data.WordPieceTokenizer;
import io.tessera.train.data.WordPieceTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The corpus, vocabulary and datasets of a pretraining run, built identically on every rank from the
 * configuration and seed: the vocabulary is {@code --vocab}, the saved {@code vocab.txt} of a resumed
 * run, or a WordPiece vocabulary trained on the training text. BERT trains on sentence pairs with
 * next-sentence labels, {@link Task#MLM} on full-sentence packs (RoBERTa's recipe), GPT-2 on
 * contiguous token windows.
 *
 * <p>Thread safety: immutable after {@link #load}.
 *
 * @param vocabulary the vocabulary
 * @param train the training examples ({@code valid.txt})
 * @param heldOut the held-out examples ({@code test.txt})
 */
public record TrainingData(Vocabulary vocabulary, ExampleDataset train, ExampleDataset heldOut) {

    /** Runs tokenize uncased (lower-cased, accents stripped) unless {@link TrainConfig#cased()}. */
    public static final boolean LOWER_CASE = true;

    /**
     * @param cfg the run
     * @return its data
     * @throws IOException if the corpus or a vocabulary file cannot be read
     */
    public static TrainingData load(TrainConfig cfg) throws IOException {
        Corpus train = Corpus.loadWikiText(WikiText2.trainFile(cfg.dataDir()));
        Corpus heldOut = Corpus.loadWikiText(WikiText2.heldOutFile(cfg.dataDir()));
        Path saved = cfg.out().resolve("vocab.txt");
        Vocabulary vocab = cfg.vocabFile() != null ? Vocabulary.load(cfg.vocabFile())
                : cfg.resume() && Files.isRegularFile(saved) ? Vocabulary.load(saved)
                : WordPieceTrainer.builder().setVocabSize(cfg.vocabSize()).optLowerCase(!cfg.cased()).build().train(train);
        WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, !cfg.cased());
        if (cfg.task() != Task.GPT2) {
            // RoBERTa and DistilBERT: full sentences, MLM only; ALBERT: sentence order (SOP); BERT: next sentence (NSP).
            BertDataConfig.Objective objective = cfg.task() == Task.MLM ? BertDataConfig.Objective.FULL_SENTENCES
                    : cfg.model().architecture() == io.tessera.models.config.Architecture.ALBERT
                    ? BertDataConfig.Objective.SENTENCE_ORDER_PREDICTION : BertDataConfig.Objective.NEXT_SENTENCE_PREDICTION;
            BertDataConfig dc = BertDataConfig.builder().optMaxSeqLength(cfg.seqLength()).optObjective(objective)
                    .optSeed(cfg.seed()).build();
            return new TrainingData(vocab, BertPretrainingDataset.create(train, tokenizer, dc),
                    BertPretrainingDataset.create(heldOut, tokenizer, dc));
        }
        return new TrainingData(vocab, Gpt2Dataset.create(train, tokenizer, cfg.seqLength(), cfg.seed()),
                Gpt2Dataset.create(heldOut, tokenizer, cfg.seqLength(), cfg.seed()));
    }
}
