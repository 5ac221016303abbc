package io.tessera.train.finetune;

import java.util.Objects;

/**
 * A sentence and its class label, as a row of a classification file (e.g. SST-2's {@code sentence}
 * and {@code label} columns).
 *
 * <p>Thread safety: immutable.
 *
 * @param text the sentence
 * @param label its label as written in the file (e.g. {@code 0}, {@code positive}); null where unlabelled
 * @param line the line of the file it came from (1-based), for messages
 */
public record LabeledSentence(String text, String label, int line) {
    public LabeledSentence {
        Objects.requireNonNull(text, "text");
    }
}
