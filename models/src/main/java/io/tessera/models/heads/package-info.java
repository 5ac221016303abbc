/**
 * Task heads on the encoder families, as Hugging Face defines them: {@link io.tessera.models.heads.SequenceClassifier}
 * (per-family {@link io.tessera.models.heads.SequenceHead}) and {@link io.tessera.models.heads.TokenClassifier}.
 */
package io.tessera.models.heads;
