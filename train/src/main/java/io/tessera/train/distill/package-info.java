/**
 * Knowledge distillation on the training API: DistilBERT's recipe ({@link io.tessera.train.distill.DistilBertDistillation},
 * a {@link io.tessera.train.TrainingRecipe} of the pretraining {@link io.tessera.train.Trainer}: a student initialised from
 * its teacher's layers and trained with the soft-target, masked-LM and cosine losses while the teacher runs forward only).
 */
package io.tessera.train.distill;
