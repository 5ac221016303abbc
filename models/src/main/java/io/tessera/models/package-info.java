/**
 * BERT and GPT-2 built from the tensor-parallel layers of {@link io.tessera.parallel.tensor}, so the same
 * code runs at any tensor-parallel degree.
 *
 * <ul>
 *   <li>{@link io.tessera.models.TransformerModel}: the root module of a model; parameter names are the
 *       Hugging Face checkpoint names; construction validates the configuration against the degree and
 *       allocates nothing ({@link io.tessera.core.nn.ParameterBuffer#allocate} does).
 *   <li>{@link io.tessera.models.TransformerLayer}: one post-LN or pre-LN layer.
 *   <li>{@link io.tessera.models.TokenBatch}: a batch with Hugging Face's conventions.
 *   <li>{@link io.tessera.models.HfTensor} and {@link io.tessera.models.HfLayout}: how each parameter
 *       maps to a Hugging Face checkpoint tensor (vocabulary padding, GPT-2's fused q/k/v).
 * </ul>
 *
 * <p>Families live in {@link io.tessera.models.bert} and {@link io.tessera.models.gpt2}; checkpoint
 * directories in {@link io.tessera.models.checkpoint}; configurations in {@link io.tessera.models.config}.
 */
package io.tessera.models;
