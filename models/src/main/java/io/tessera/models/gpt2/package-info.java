/** GPT-2 with its tied language-model head, as Hugging Face's {@code GPT2LMHeadModel}. */
package io.tessera.models.gpt2;
