/**
 * RoBERTa for masked-LM pre-training, as Hugging Face's {@code RobertaForMaskedLM}: BERT's post-LN
 * encoder with position ids that skip the padding id, and no next-sentence head.
 */
package io.tessera.models.roberta;
