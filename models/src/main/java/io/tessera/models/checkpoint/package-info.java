/**
 * Hugging Face model directories ({@code config.json} + {@code model.safetensors}) written from and
 * read into a model at any tensor-parallel degree.
 */
package io.tessera.models.checkpoint;
