/**
 * BERT for pre-training (masked LM and next-sentence heads), post-LN as Hugging Face's
 * {@code BertForPreTraining} or pre-LN as {@code MegatronBertForPreTraining}.
 */
package io.tessera.models.bert;
