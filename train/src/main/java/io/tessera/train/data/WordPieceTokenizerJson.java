package io.tessera.train.data;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A Tessera WordPiece vocabulary as a Hugging Face {@code tokenizer.json} (the Rust {@code tokenizers}
 * library's format), describing the pipeline {@link WordPieceTokenizer} runs:
 *
 * <pre>
 *   normalizer      BertNormalizer  clean_text, handle_chinese_chars, lowercase = strip_accents = the tokenizer's lower-casing
 *   pre_tokenizer   BertPreTokenizer (whitespace and punctuation split)
 *   model           WordPiece  vocab (token → id), unk [UNK], continuing_subword_prefix ##, max_input_chars_per_word 100
 *   post_processor  TemplateProcessing  [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1     (none for a GPT-2 stream)
 *   decoder         WordPiece (## joined)
 *   added_tokens    the five special tokens, never split
 * </pre>
 *
 * <p>{@code WordPieceTokenizerJsonTest} checks that the Rust library reading this file gives the ids
 * {@link WordPieceTokenizer} gives on WikiText.
 *
 * <p>Thread safety: stateless.
 */
public final class WordPieceTokenizerJson {

    /** The file name. */
    public static final String FILE = "tokenizer.json";

    private WordPieceTokenizerJson() {}

    /**
     * @param vocabulary the vocabulary
     * @param lowerCase whether the tokenizer lower-cases (and strips accents)
     * @param template whether single sequences get [CLS] … [SEP] (false for a GPT-2 stream, whose
     *     documents end with [SEP] in the data instead)
     * @return the file's bytes
     */
    public static byte[] of(Vocabulary vocabulary, boolean lowerCase, boolean template) {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        for (String special : Vocabulary.SPECIAL_TOKENS) {
            JsonObject t = new JsonObject();
            t.addProperty("id", vocabulary.id(special));
            t.addProperty("content", special);
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        root.add("added_tokens", added);
        JsonObject normalizer = new JsonObject();
        normalizer.addProperty("type", "BertNormalizer");
        normalizer.addProperty("clean_text", true);
        normalizer.addProperty("handle_chinese_chars", true);
        normalizer.addProperty("strip_accents", lowerCase);
        normalizer.addProperty("lowercase", lowerCase);
        root.add("normalizer", normalizer);
        JsonObject pre = new JsonObject();
        pre.addProperty("type", "BertPreTokenizer");
        root.add("pre_tokenizer", pre);
        root.add("post_processor", template ? template(vocabulary) : JsonNull.INSTANCE);
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "WordPiece");
        decoder.addProperty("prefix", Vocabulary.CONTINUATION_PREFIX);
        decoder.addProperty("cleanup", true);
        root.add("decoder", decoder);
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordPiece");
        model.addProperty("unk_token", Vocabulary.UNK);
        model.addProperty("continuing_subword_prefix", Vocabulary.CONTINUATION_PREFIX);
        model.addProperty("max_input_chars_per_word", WordPieceTokenizer.MAX_INPUT_CHARS_PER_WORD);
        JsonObject vocab = new JsonObject();
        List<String> tokens = vocabulary.tokens();
        for (int i = 0; i < tokens.size(); i++) {
            vocab.addProperty(tokens.get(i), i);
        }
        model.add("vocab", vocab);
        root.add("model", model);
        return (new GsonBuilder().disableHtmlEscaping().serializeNulls().create().toJson(root) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static JsonObject template(Vocabulary v) {
        JsonObject p = new JsonObject();
        p.addProperty("type", "TemplateProcessing");
        p.add("single", pieces(new String[] {Vocabulary.CLS, "A", Vocabulary.SEP}, new int[] {0, 0, 0}));
        p.add("pair", pieces(new String[] {Vocabulary.CLS, "A", Vocabulary.SEP, "B", Vocabulary.SEP}, new int[] {0, 0, 0, 1, 1}));
        JsonObject specials = new JsonObject();
        for (String s : List.of(Vocabulary.CLS, Vocabulary.SEP)) {
            JsonObject o = new JsonObject();
            o.addProperty("id", s);
            JsonArray ids = new JsonArray();
            ids.add(v.id(s));
            o.add("ids", ids);
            JsonArray toks = new JsonArray();
            toks.add(s);
            o.add("tokens", toks);
            specials.add(s, o);
        }
        p.add("special_tokens", specials);
        return p;
    }

    private static JsonArray pieces(String[] ids, int[] types) {
        JsonArray out = new JsonArray();
        for (int i = 0; i < ids.length; i++) {
            JsonObject inner = new JsonObject();
            inner.addProperty("id", ids[i]);
            inner.addProperty("type_id", types[i]);
            JsonObject wrap = new JsonObject();
            wrap.add(ids[i].equals("A") || ids[i].equals("B") ? "Sequence" : "SpecialToken", inner);
            out.add(wrap);
        }
        return out;
    }
}
