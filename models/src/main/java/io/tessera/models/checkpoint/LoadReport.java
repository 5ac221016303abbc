package io.tessera.models.checkpoint;

import java.util.List;

/**
 * What {@link HfCheckpoint#load} did besides copying the shared tensors, as Hugging Face's
 * "Some weights were newly initialized / not used" warning says it: loading a pre-training checkpoint
 * into a classifier (or the reverse) keeps the encoder and leaves the other head's tensors behind.
 *
 * <p>Thread safety: immutable record.
 *
 * @param initialised the model's tensors the checkpoint did not hold, left as
 *     {@link io.tessera.core.nn.ParameterBuffer#allocate} initialised them (the new head)
 * @param unused the checkpoint's tensors the model does not have (the other head), skipped
 */
public record LoadReport(List<String> initialised, List<String> unused) {

    public LoadReport {
        initialised = List.copyOf(initialised);
        unused = List.copyOf(unused);
    }

    /** @return whether every tensor of the model came from the checkpoint and every tensor was used */
    public boolean complete() {
        return initialised.isEmpty() && unused.isEmpty();
    }
}
