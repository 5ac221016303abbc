package io.tessera.train.finetune;

import java.util.Objects;

/**
 * One named entity of a sentence: its type and the words it covers, {@code [start, end)}.
 *
 * <p>Thread safety: immutable.
 *
 * @param type e.g. {@code PER}, {@code LOC}
 * @param start index of its first word
 * @param end one past its last word
 */
public record EntitySpan(String type, int start, int end) {

    public EntitySpan {
        Objects.requireNonNull(type, "type");
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("entity " + type + " [" + start + ", " + end + "): needs 0 <= start < end");
        }
    }
}
