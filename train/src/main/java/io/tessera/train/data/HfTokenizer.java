package io.tessera.train.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, encoded by the Rust {@code tokenizers} library through DJL's
 * binding ({@code ai.djl.huggingface:tokenizers}, which ships the native library for Linux, macOS and
 * Windows inside its jar, so nothing is downloaded): WordPiece (BERT, DistilBERT), byte-level BPE
 * (RoBERTa, GPT-2) and SentencePiece-Unigram (ALBERT) models, with the file's normalizer,
 * pre-tokenizer and post-processor (special tokens).
 *
 * <pre>
 *   encode(text)          ids with the special tokens of one sequence      ([CLS] … [SEP], &lt;s&gt; … &lt;/s&gt;)
 *   encodeWords(words)    each pre-split word's ids, no special tokens      (as is_split_into_words=True)
 *   prefix() / suffix()   the special ids around one sequence
 * </pre>
 *
 * <p>No truncation or padding is applied here; callers cut and pad. A missing or unreadable file, or
 * a model type other than the three above, is refused with a message naming the file.
 *
 * <p>Thread safety: the Rust tokenizer is safe to share between threads; close once, when no thread
 * uses it any more.
 */
public final class HfTokenizer implements AutoCloseable {

    /** The model types Tessera reads (tokenizer.json's {@code model.type}). */
    public static final Set<String> MODELS = Set.of("WordPiece", "BPE", "Unigram");

    private static final List<String> PAD_TOKENS = List.of("[PAD]", "<pad>");

    private final Path file;
    private final String model;
    private final HuggingFaceTokenizer tokenizer;
    private final int[] prefix;
    private final int[] suffix;
    private final int padId;
    private final int unkId;
    private final boolean spaceBeforeWords;

    private HfTokenizer(Path file, String model, HuggingFaceTokenizer tokenizer, int padId, int unkId, boolean spaceBeforeWords) {
        this.file = file;
        this.spaceBeforeWords = spaceBeforeWords;
        this.model = model;
        this.tokenizer = tokenizer;
        this.padId = padId;
        this.unkId = unkId;
        Encoding probe = tokenizer.encode("a", true, false);
        long[] ids = probe.getIds();
        long[] special = probe.getSpecialTokenMask();
        int first = 0;
        while (first < ids.length && special[first] == 1) {
            first++;
        }
        int last = ids.length - 1;
        while (last >= first && special[last] == 1) {
            last--;
        }
        this.prefix = ints(Arrays.copyOfRange(ids, 0, first));
        this.suffix = ints(Arrays.copyOfRange(ids, last + 1, ids.length));
    }

    /**
     * @param dirOrFile a model directory holding {@code tokenizer.json}, or the file itself
     * @return the tokenizer
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if it is missing, is not a tokenizer.json, or holds an unsupported model
     */
    public static HfTokenizer load(Path dirOrFile) throws IOException {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(WordPieceTokenizerJson.FILE) : dirOrFile;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " does not exist; pass a model directory with a tokenizer.json (Hugging Face's"
                    + " fast-tokenizer file; Tessera's exports carry one) or the file itself");
        }
        JsonObject root;
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!e.isJsonObject() || !e.getAsJsonObject().has("model") || !e.getAsJsonObject().get("model").isJsonObject()) {
                throw new IllegalArgumentException(file + " is not a tokenizer.json: it has no \"model\" object; pass the tokenizer.json"
                        + " of a Hugging Face model directory");
            }
            root = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(file + " is not valid JSON (" + e.getMessage() + "); pass a Hugging Face tokenizer.json");
        }
        JsonObject m = root.getAsJsonObject("model");
        String type = m.has("type") && m.get("type").isJsonPrimitive() ? m.get("type").getAsString() : inferType(m);
        if (!MODELS.contains(type)) {
            throw new IllegalArgumentException(file + ": tokenizer model \"" + type + "\" is not supported; Tessera reads WordPiece"
                    + " (BERT, DistilBERT), BPE (RoBERTa, GPT-2) and Unigram (ALBERT) tokenizers");
        }
        HuggingFaceTokenizer t;
        try {
            t = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + " cannot be read by the tokenizers library: " + e.getMessage()
                    + "; pass a tokenizer.json that Hugging Face's tokenizers (0.19 or later) wrote", e);
        }
        try {
            int pad = -1;
            for (String p : PAD_TOKENS) {
                pad = pad >= 0 ? pad : idOf(t, p);
            }
            int unk = m.has("unk_token") && m.get("unk_token").isJsonPrimitive() ? idOf(t, m.get("unk_token").getAsString()) : -1;
            if (unk < 0 && m.has("unk_id") && m.get("unk_id").isJsonPrimitive()) {
                unk = m.get("unk_id").getAsInt();
            }
            return new HfTokenizer(file, type, t, Math.max(pad, 0), unk, byteLevelWithoutPrefixSpace(root.get("pre_tokenizer")));
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /**
     * Whether the pre-tokenizer is byte-level without {@code add_prefix_space}: RoBERTa's and GPT-2's
     * files. Words inside a sentence carry their leading space ({@code Ġword}), so a pre-split word is
     * encoded as {@code " " + word}, as Hugging Face's {@code add_prefix_space=True} does for
     * {@code is_split_into_words}.
     */
    private static boolean byteLevelWithoutPrefixSpace(JsonElement pre) {
        if (pre == null || !pre.isJsonObject()) {
            return false;
        }
        JsonObject o = pre.getAsJsonObject();
        if (o.has("pretokenizers") && o.get("pretokenizers").isJsonArray()) {
            for (JsonElement e : o.getAsJsonArray("pretokenizers")) {
                if (byteLevelWithoutPrefixSpace(e)) {
                    return true;
                }
            }
            return false;
        }
        return o.has("type") && "ByteLevel".equals(o.get("type").getAsString())
                && !(o.has("add_prefix_space") && o.get("add_prefix_space").getAsBoolean());
    }

    /** Older files leave {@code model.type} out; the fields tell the model apart. */
    private static String inferType(JsonObject m) {
        if (m.has("merges")) {
            return "BPE";
        }
        if (m.has("continuing_subword_prefix") || m.has("max_input_chars_per_word")) {
            return "WordPiece";
        }
        return m.has("vocab") && m.get("vocab").isJsonArray() ? "Unigram" : "unknown";
    }

    /** The id of a token the tokenizer keeps whole (an added or special token), or -1. */
    private static int idOf(HuggingFaceTokenizer t, String token) {
        Encoding e = t.encode(token, false, false);
        String[] toks = e.getTokens();
        return toks.length == 1 && toks[0].equals(token) ? (int) e.getIds()[0] : -1;
    }

    /** @return the file read */
    public Path file() {
        return file;
    }

    /** @return {@code WordPiece}, {@code BPE} or {@code Unigram} */
    public String model() {
        return model;
    }

    /**
     * @param text a text
     * @param addSpecialTokens whether to add the post-processor's special tokens
     * @return its ids
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        return ints(tokenizer.encode(text, addSpecialTokens, false).getIds());
    }

    /**
     * @param words the words of a sentence, already split
     * @return each word's ids, no special tokens (byte-level BPE: each word as if after a space, as in
     *     running text); a word the tokenizer drops entirely gets the unknown
     *     token (or the padding id where the model has none)
     */
    public List<int[]> encodeWords(List<String> words) {
        List<int[]> out = new ArrayList<>(words.size());
        if (words.isEmpty()) {
            return out;
        }
        String[] input = words.toArray(String[]::new);
        if (spaceBeforeWords) {
            for (int i = 0; i < input.length; i++) {
                input[i] = " " + input[i];
            }
        }
        Encoding e = tokenizer.encode(input, false, false);
        long[] ids = e.getIds();
        long[] wordIds = e.getWordIds();
        List<List<Integer>> per = new ArrayList<>(words.size());
        for (int w = 0; w < words.size(); w++) {
            per.add(new ArrayList<>());
        }
        for (int i = 0; i < ids.length; i++) {
            if (wordIds[i] >= 0 && wordIds[i] < words.size()) {
                per.get((int) wordIds[i]).add((int) ids[i]);
            }
        }
        for (List<Integer> p : per) {
            out.add(p.isEmpty() ? new int[] {unkId >= 0 ? unkId : padId} : p.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    /** @return the special ids before one sequence */
    public int[] prefix() {
        return prefix.clone();
    }

    /** @return the special ids after one sequence */
    public int[] suffix() {
        return suffix.clone();
    }

    /** @return the id of {@code [PAD]} or {@code <pad>}, 0 where the vocabulary has neither */
    public int padId() {
        return padId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }
}
