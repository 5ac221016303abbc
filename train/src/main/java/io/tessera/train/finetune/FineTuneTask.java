package io.tessera.train.finetune;

import java.util.Locale;

/**
 * What a fine-tuning run trains the encoder for.
 *
 * <p>Thread safety: immutable enum.
 */
public enum FineTuneTask {
    /** One label per sentence (SST-2 sentiment): classification TSV input, accuracy and macro-F1. */
    SEQUENCE_CLASSIFICATION("sequence-classification"),
    /** One tag per word (CoNLL-2003 entities): CoNLL input, conlleval's entity F1. */
    TOKEN_CLASSIFICATION("token-classification");

    private final String flag;

    FineTuneTask(String flag) {
        this.flag = flag;
    }

    /** @return the command-line spelling */
    public String flag() {
        return flag;
    }

    /**
     * @param text {@code sequence-classification} or {@code token-classification}
     * @return the task
     * @throws IllegalArgumentException naming the accepted values
     */
    public static FineTuneTask parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        for (FineTuneTask k : values()) {
            if (k.flag.equals(t)) {
                return k;
            }
        }
        throw new IllegalArgumentException("--task " + text + ": expected sequence-classification or token-classification");
    }
}
