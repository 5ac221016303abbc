/**
 * Task-specific distillation of a fine-tuned BERT-family sentence classifier into a single-layer
 * BiLSTM (Tang et al., 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural
 * Networks"): {@link io.tessera.train.distill.bilstm.BiLstmDistiller} grows the training set into a
 * transfer set ({@link io.tessera.train.distill.bilstm.Augmentation}, with the part-of-speech classes
 * of {@link io.tessera.train.distill.bilstm.PosLexicon}), has the
 * {@link io.tessera.train.distill.bilstm.Teacher} label it with logits, and trains a
 * {@link io.tessera.train.distill.bilstm.BiLstmClassifier} on the mean squared error to them
 * ({@link io.tessera.train.distill.bilstm.DistillationLoss}); the same student trained on gold labels
 * is the baseline.
 *
 * <h2>The exported student directory</h2>
 *
 * <pre>
 *   config.json         {"architectures": ["BiLstmForSequenceClassification"], "model_type": "tessera-bilstm",
 *                        "vocab_size": V, "embedding_dim": E, "hidden_size": H, "mlp_size": M, "num_labels": K,
 *                        "id2label": {"0": "...", ...}, "label2id": {"...": 0, ...}, "word_splitter": "..."}
 *   model.safetensors   float32 tensors, PyTorch's names and shapes (torch.nn.Embedding / LSTM / Linear):
 *                         embedding.weight                         [V, E]
 *                         lstm.weight_ih_l0, lstm.weight_ih_l0_reverse   [4H, E]   gates in PyTorch's order i, f, g, o
 *                         lstm.weight_hh_l0, lstm.weight_hh_l0_reverse   [4H, H]
 *                         lstm.bias_ih_l0, lstm.bias_hh_l0 (and _reverse) [4H]
 *                         hidden.weight [M, 2H], hidden.bias [M]       (the MLP's ReLU layer on the max-pooled states)
 *                         classifier.weight [K, M], classifier.bias [K]
 *   vocab.txt           one word per line, the line number (from 0) is the id: [PAD], [UNK], [MASK], then the
 *                       transfer set's words by falling count
 * </pre>
 *
 * A sentence is lower-cased and split on white space and around punctuation
 * ({@link io.tessera.train.distill.bilstm.WordSplitter}); a word outside vocab.txt is {@code [UNK]}.
 * The weights load into {@code torch.nn.LSTM(E, H, bidirectional=True, batch_first=True)} and the
 * rest as they are ({@code benchmarks/reference/bilstm_reference.py} does exactly that).
 * {@link io.tessera.train.distill.bilstm.BiLstmStudent} writes and reads the directory, and
 * {@code tessera predict --model-dir} runs it as any sequence classifier
 * ({@link io.tessera.train.distill.bilstm.BiLstmPrediction}).
 */
package io.tessera.train.distill.bilstm;
