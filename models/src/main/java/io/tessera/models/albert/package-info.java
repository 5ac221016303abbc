/**
 * ALBERT ({@link io.tessera.models.albert.AlbertForPreTraining}): BERT's post-LN encoder with a
 * factorised embedding and layers shared across depth, split Megatron-style over the tensor-parallel
 * group.
 */
package io.tessera.models.albert;
