/**
 * Fine-tuning's data and metrics: the classification TSV and CoNLL readers ({@link
 * io.tessera.train.finetune.TaskFiles}), task labels ({@link io.tessera.train.finetune.LabelSet}), word
 * tags to first-sub-token labels and back ({@link io.tessera.train.finetune.TokenAlignment}), accuracy
 * and macro-F1 ({@link io.tessera.train.finetune.ClassificationScore}) and conlleval's entity F1 ({@link
 * io.tessera.train.finetune.EntityF1}).
 */
package io.tessera.train.finetune;
