package io.tessera.train.finetune;

import java.util.List;

/**
 * A sentence as words with one tag each (e.g. CoNLL-2003's IOB2 entity tags).
 *
 * <p>Thread safety: immutable.
 *
 * @param words the words
 * @param tags one tag per word; empty where the sentence is unlabelled (prediction input)
 * @param line the line of the file where the sentence starts (1-based), for messages
 */
public record TaggedSentence(List<String> words, List<String> tags, int line) {
    public TaggedSentence {
        words = List.copyOf(words);
        tags = List.copyOf(tags);
        if (words.isEmpty()) {
            throw new IllegalArgumentException("line " + line + ": a sentence needs at least one word");
        }
        if (!tags.isEmpty() && tags.size() != words.size()) {
            throw new IllegalArgumentException("line " + line + ": " + words.size() + " words but " + tags.size() + " tags");
        }
    }

    /** @return whether the sentence carries tags */
    public boolean tagged() {
        return !tags.isEmpty();
    }
}
