package io.tessera.train.data;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tokenizer files of a Hugging Face model directory for a Tessera WordPiece vocabulary, so that
 * {@code AutoTokenizer.from_pretrained(dir)} tokenizes as {@link WordPieceTokenizer} does:
 *
 * <pre>
 *   vocab.txt                 the vocabulary, one token per line, line number = id (as {@link Vocabulary#save})
 *   tokenizer_config.json     tokenizer_class BertTokenizer; do_lower_case, strip_accents = the tokenizer's
 *                             lower-casing (BasicTokenizer strips accents exactly when it lower-cases);
 *                             tokenize_chinese_chars true (CJK ideographs are words of their own);
 *                             model_max_length = the model's max positions; the five special tokens
 *   special_tokens_map.json   [UNK] [SEP] [PAD] [CLS] [MASK]
 *   tokenizer.json            the same pipeline for the Rust tokenizers library ({@link WordPieceTokenizerJson})
 * </pre>
 *
 * <p>GPT-2 runs here use the same WordPiece vocabulary and tokenizer (no byte-level BPE, see {@link
 * Gpt2Dataset}), so their files say BertTokenizer too, and name {@code [SEP]}, which ends every
 * document of the GPT-2 stream, as {@code eos_token}. Hugging Face's BertTokenizer puts [CLS] … [SEP]
 * around what it encodes; the GPT-2 model was trained on documents each followed by [SEP] with no
 * [CLS], so encode for it with {@code add_special_tokens=False}.
 *
 * <p>{@code tokenizer.json} is a second description of the pipeline; {@code WordPieceTokenizerJsonTest}
 * keeps it from drifting (the Rust library reading it gives {@link WordPieceTokenizer}'s ids on WikiText).
 *
 * <p>Thread safety: stateless.
 */
public final class HfTokenizerFiles {

    /** The vocabulary file Hugging Face's BertTokenizer reads. */
    public static final String VOCAB_FILE = "vocab.txt";
    /** The tokenizer's class and settings. */
    public static final String CONFIG_FILE = "tokenizer_config.json";
    /** The special tokens by role. */
    public static final String SPECIAL_TOKENS_FILE = "special_tokens_map.json";

    private HfTokenizerFiles() {}

    /**
     * @param vocabulary the WordPiece vocabulary
     * @param lowerCase whether the tokenizer lower-cases (and so strips accents), as {@link BasicTokenizer#lowerCase()}
     * @param modelMaxLength the model's max positions: the longest input it takes
     * @param documentsEndWithSep true for a GPT-2 model, whose documents each end with [SEP] ({@code eos_token})
     * @return file name → content, in the order {@link #VOCAB_FILE}, {@link #CONFIG_FILE}, {@link #SPECIAL_TOKENS_FILE},
     *     {@link WordPieceTokenizerJson#FILE}
     */
    public static Map<String, byte[]> of(Vocabulary vocabulary, boolean lowerCase, int modelMaxLength, boolean documentsEndWithSep) {
        if (modelMaxLength < 1) {
            throw new IllegalArgumentException("HfTokenizerFiles: modelMaxLength = " + modelMaxLength
                    + " must be >= 1; pass the model's max_position_embeddings");
        }
        StringBuilder vocab = new StringBuilder(vocabulary.size() * 8);
        for (String token : vocabulary.tokens()) {
            vocab.append(token).append('\n');
        }
        JsonObject config = new JsonObject();
        config.addProperty("tokenizer_class", "BertTokenizer");
        config.addProperty("do_lower_case", lowerCase);
        config.addProperty("do_basic_tokenize", true);
        config.add("never_split", JsonNull.INSTANCE);
        config.addProperty("tokenize_chinese_chars", true);
        config.addProperty("strip_accents", lowerCase);
        config.addProperty("model_max_length", modelMaxLength);
        config.addProperty("clean_up_tokenization_spaces", true);
        JsonObject special = specialTokens(documentsEndWithSep);
        special.entrySet().forEach(e -> config.add(e.getKey(), e.getValue()));
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(VOCAB_FILE, vocab.toString().getBytes(StandardCharsets.UTF_8));
        files.put(CONFIG_FILE, json(config));
        files.put(SPECIAL_TOKENS_FILE, json(special));
        files.put(WordPieceTokenizerJson.FILE, WordPieceTokenizerJson.of(vocabulary, lowerCase, !documentsEndWithSep));
        return files;
    }

    private static JsonObject specialTokens(boolean documentsEndWithSep) {
        JsonObject o = new JsonObject();
        o.addProperty("unk_token", Vocabulary.UNK);
        o.addProperty("sep_token", Vocabulary.SEP);
        o.addProperty("pad_token", Vocabulary.PAD);
        o.addProperty("cls_token", Vocabulary.CLS);
        o.addProperty("mask_token", Vocabulary.MASK);
        if (documentsEndWithSep) {
            o.addProperty("eos_token", Vocabulary.SEP);
        }
        return o;
    }

    private static byte[] json(JsonObject o) {
        return (new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create().toJson(o) + "\n")
                .getBytes(StandardCharsets.UTF_8);
    }
}
