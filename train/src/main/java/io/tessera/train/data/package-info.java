/**
 * Corpus, WordPiece tokenizer and pretraining data pipeline, in plain Java: everything ends
 * in {@code int} arrays that the trainer turns into tensors.
 *
 * <pre>
 *   data/wikitext-2/valid.txt ──Corpus.loadWikiText──▶ Corpus (documents of sentences)
 *          │                                             │
 *          └──WordPieceTrainer.train──▶ Vocabulary ──────┤  (vocab.txt: save / load)
 *                                          │             │
 *                                  WordPieceTokenizer ───┤
 *                                                        ▼
 *              BertPretrainingDataset (NSP pairs or full sentences, dynamic masking)
 *              Gpt2Dataset            (contiguous blocks)
 *                                                        │  example(epoch, index)
 *                                                        ▼
 *              DistributedBatchSampler ──microBatch(epoch, step, m)──▶ Batch [B, T]
 * </pre>
 *
 * <p>Randomness rule: construction is a function of the seed; the example order of epoch e
 * a function of (seed, e); the masking of example i in epoch e a function of (seed, e, i).
 * So the global batch of a step does not depend on the data-parallel degree, the
 * micro-batch size, the thread that asks, or on whether the run was resumed.
 *
 * <p>Shipped corpus: WikiText-2's {@code valid.txt} trains (vocabulary and examples),
 * {@code test.txt} is held out for evaluation ({@link io.tessera.train.data.WikiText2}).
 *
 * <pre>{@code
 * Corpus corpus = Corpus.loadWikiText(WikiText2.trainFile(WikiText2.find(Path.of("")).orElseThrow()));
 * Vocabulary vocab = WordPieceTrainer.builder().setVocabSize(8000).build().train(corpus);
 * WordPieceTokenizer tokenizer = new WordPieceTokenizer(vocab, true);
 * BertPretrainingDataset data = BertPretrainingDataset.create(corpus, tokenizer,
 *         BertDataConfig.builder().optMaxSeqLength(128).optSeed(1234).build());
 * DistributedBatchSampler sampler = DistributedBatchSampler.builder().setDataset(data)
 *         .setGlobalBatchSize(256).setMicroBatchSize(16).optDataParallelSize(dp).optDataParallelRank(rank).build();
 * Batch batch = sampler.microBatch(epoch, step, m);
 * }</pre>
 */
package io.tessera.train.data;
