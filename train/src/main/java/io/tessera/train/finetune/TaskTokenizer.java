package io.tessera.train.finetune;

import io.tessera.train.data.HfTokenizer;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WordPieceTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What fine-tuning needs of a tokenizer: a sentence with its special tokens for classification, and
 * each word's sub-tokens for token classification (so that labels can be put on first sub-tokens).
 *
 * <pre>
 *   encode("a fine film")            → [CLS] a fine film [SEP]          (BERT; RoBERTa: &lt;s&gt; ... &lt;/s&gt;)
 *   encodeWords([EU, rejects])       → [[eu], [rejects]]  or [[e, ##u], [reject, ##s]]
 *   prefix() / suffix()              → [CLS] / [SEP]: what surrounds one sequence
 * </pre>
 *
 * <p>Thread safety: implementations must be safe to share between threads once built.
 */
public interface TaskTokenizer {

    /**
     * @param text a sentence
     * @return its ids with the special tokens of a single sequence
     */
    int[] encode(String text);

    /**
     * @param words the words of a sentence, in order
     * @return each word's sub-token ids, no special tokens; every word gives at least one id
     */
    List<int[]> encodeWords(List<String> words);

    /** @return the ids before a single sequence (e.g. {@code [CLS]}) */
    int[] prefix();

    /** @return the ids after a single sequence (e.g. {@code [SEP]}) */
    int[] suffix();

    /** @return the padding id */
    int padId();

    /**
     * A Hugging Face {@code tokenizer.json} (the Rust library) as a task tokenizer.
     *
     * @param tokenizer the tokenizer
     * @return the adapter
     */
    static TaskTokenizer of(HfTokenizer tokenizer) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        return new TaskTokenizer() {
            @Override
            public int[] encode(String text) {
                return tokenizer.encode(text, true);
            }

            @Override
            public List<int[]> encodeWords(List<String> words) {
                return tokenizer.encodeWords(words);
            }

            @Override
            public int[] prefix() {
                return tokenizer.prefix();
            }

            @Override
            public int[] suffix() {
                return tokenizer.suffix();
            }

            @Override
            public int padId() {
                return tokenizer.padId();
            }
        };
    }

    /**
     * Tessera's own WordPiece tokenizer (BERT's rules) as a task tokenizer.
     *
     * @param tokenizer the tokenizer
     * @return the adapter
     */
    static TaskTokenizer wordPiece(WordPieceTokenizer tokenizer) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Vocabulary v = tokenizer.vocabulary();
        return new TaskTokenizer() {
            @Override
            public int[] encode(String text) {
                int[] body = tokenizer.encode(text);
                int[] out = new int[body.length + 2];
                out[0] = v.clsId();
                System.arraycopy(body, 0, out, 1, body.length);
                out[out.length - 1] = v.sepId();
                return out;
            }

            @Override
            public List<int[]> encodeWords(List<String> words) {
                List<int[]> out = new ArrayList<>(words.size());
                for (String w : words) {
                    int[] ids = tokenizer.encode(w);
                    out.add(ids.length == 0 ? new int[] {v.unkId()} : ids);
                }
                return out;
            }

            @Override
            public int[] prefix() {
                return new int[] {v.clsId()};
            }

            @Override
            public int[] suffix() {
                return new int[] {v.sepId()};
            }

            @Override
            public int padId() {
                return v.padId();
            }
        };
    }
}
