package io.tessera.train.finetune;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.tessera.train.data.HfTokenizer;
import io.tessera.train.data.HfTokenizerFiles;
import io.tessera.train.data.WordPieceTokenizerJson;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WordPieceTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer of a Hugging Face model directory, for fine-tuning and prediction, together with its
 * files (so that an exported task model carries the same tokenizer).
 *
 * <pre>
 *   tokenizer.json                                      any WordPiece, byte-level BPE or Unigram tokenizer, by the Rust
 *                                                       tokenizers library ({@link HfTokenizer}); preferred when present
 *   vocab.txt + tokenizer_config.json (do_lower_case)   BERT / DistilBERT WordPiece, Tessera's {@link WordPieceTokenizer}
 * </pre>
 *
 * <p>A directory with neither is refused with the files it would need.
 *
 * <p>Thread safety: immutable.
 *
 * @param tokenizer the task tokenizer
 * @param files the directory's tokenizer files by name, copied into exports
 */
public record ModelTokenizer(TaskTokenizer tokenizer, Map<String, byte[]> files) {

    /** The files an exported directory carries beside config.json and the weights, where they exist. */
    static final List<String> FILE_NAMES = List.of(HfTokenizerFiles.VOCAB_FILE, HfTokenizerFiles.CONFIG_FILE,
            HfTokenizerFiles.SPECIAL_TOKENS_FILE, "tokenizer.json");

    /**
     * @param dir a Hugging Face model directory
     * @return its tokenizer
     * @throws IOException if a file cannot be read
     * @throws IllegalArgumentException if the directory has no tokenizer Tessera can read
     */
    public static ModelTokenizer load(Path dir) throws IOException {
        Path vocab = dir.resolve(HfTokenizerFiles.VOCAB_FILE);
        Path json = dir.resolve(WordPieceTokenizerJson.FILE);
        if (!Files.isRegularFile(vocab) && !Files.isRegularFile(json)) {
            throw new IllegalArgumentException("--model-dir " + dir + " has no tokenizer: neither tokenizer.json nor "
                    + HfTokenizerFiles.VOCAB_FILE + " is there; a Hugging Face model directory carries its tokenizer files"
                    + " (pretrain's export writes them, and `tessera init --vocab FILE` adds them)");
        }
        boolean lowerCase = lowerCase(dir);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String name : FILE_NAMES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                files.put(name, Files.readAllBytes(p));
            }
        }
        if (Files.isRegularFile(json)) {
            // Held for the process's life: a fine-tuning or prediction run tokenises until it ends.
            return new ModelTokenizer(TaskTokenizer.of(HfTokenizer.load(json)), files);
        }
        Vocabulary v = Vocabulary.load(vocab);
        return new ModelTokenizer(TaskTokenizer.wordPiece(new WordPieceTokenizer(v, lowerCase)), files);
    }

    /**
     * @param dir a Hugging Face model directory
     * @return its {@code tokenizer_config.json}'s {@code do_lower_case}, true where it says nothing (BERT's default)
     * @throws IOException if the file exists but cannot be read
     */
    public static boolean lowerCase(Path dir) throws IOException {
        Path config = dir.resolve(HfTokenizerFiles.CONFIG_FILE);
        if (Files.isRegularFile(config)) {
            JsonElement e = JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8));
            if (e.isJsonObject() && e.getAsJsonObject().has("do_lower_case")) {
                return e.getAsJsonObject().get("do_lower_case").getAsBoolean();
            }
        }
        return true;
    }

    /** @return the files as a JSON-free map for {@code HfCheckpoint.save(model, dir, files)} */
    public Map<String, byte[]> exportFiles() {
        return files;
    }
}
