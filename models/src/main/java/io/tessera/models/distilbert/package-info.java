/**
 * DistilBERT for masked-LM pre-training, as Hugging Face's {@code DistilBertForMaskedLM}: a post-LN
 * encoder without token types or pooler.
 */
package io.tessera.models.distilbert;
