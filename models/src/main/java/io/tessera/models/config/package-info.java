/**
 * Model configuration: {@link io.tessera.models.config.TransformerConfig} (BERT and GPT-2 shapes),
 * Hugging Face {@code config.json} reading and writing ({@link io.tessera.models.config.HfConfigJson}),
 * named presets with their published sizes ({@link io.tessera.models.config.Presets}) and exact
 * parameter counts ({@link io.tessera.models.config.ParameterCount}).
 *
 * <p>Everything here is pure arithmetic on immutable values: nothing allocates tensors, so a bad
 * configuration or a tensor-parallel degree that does not divide the model fails before any memory
 * is touched.
 */
package io.tessera.models.config;
