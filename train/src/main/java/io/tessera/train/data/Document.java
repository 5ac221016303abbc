package io.tessera.train.data;

import java.util.List;

/**
 * One document of a {@link Corpus}: for WikiText, one Wikipedia article.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 *
 * @param title     the article title ({@code " = Title = "} line), or empty if the text had none
 * @param sentences the sentences in reading order, each non-blank
 */
public record Document(String title, List<String> sentences) {

    /**
     * Validates and copies.
     *
     * @throws IllegalArgumentException if there is no sentence or a sentence is blank
     */
    public Document {
        sentences = List.copyOf(sentences);
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("Document '" + title + "' has no sentences; a document needs at"
                    + " least one: leave it out of the corpus");
        }
        for (int i = 0; i < sentences.size(); i++) {
            if (sentences.get(i).isBlank()) {
                throw new IllegalArgumentException("Document '" + title + "' has a blank sentence at index " + i
                        + "; sentences must hold text: drop blank ones before building the document");
            }
        }
    }
}
