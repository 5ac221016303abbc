package io.tessera.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.tessera.core.io.AtomicFiles;
import io.tessera.train.data.HfTokenizer;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera tokenize}: a text file encoded by a Hugging Face {@code tokenizer.json} (the Rust
 * tokenizers library, {@link HfTokenizer}), one JSON line per input line.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode a text file with a Hugging Face tokenizer.json (WordPiece, byte-level BPE or Unigram): per input line,"
                + " {\"input_ids\": [...], \"attention_mask\": [...]} with the tokenizer's special tokens.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = "--tokenizer", required = true, description = "A model directory with tokenizer.json, or the file itself.")
    Path tokenizer;

    @Option(names = "--input", required = true, description = "Text file, one text per line.")
    Path input;

    @Option(names = "--output", required = true, description = "JSONL file to write (replaced atomically).")
    Path output;

    @Option(names = "--no-special-tokens", description = "Leave out the special tokens ([CLS] … [SEP], <s> … </s>).")
    boolean noSpecialTokens;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("--input " + input + " does not exist or is not a file");
        }
        long[] lines = {0};
        try (HfTokenizer t = HfTokenizer.load(tokenizer)) {
            AtomicFiles.write(output, w -> {
                try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        int[] ids = t.encode(line, !noSpecialTokens);
                        JsonArray idArray = new JsonArray(ids.length);
                        JsonArray mask = new JsonArray(ids.length);
                        for (int id : ids) {
                            idArray.add(id);
                            mask.add(1);
                        }
                        JsonObject o = new JsonObject();
                        o.add("input_ids", idArray);
                        o.add("attention_mask", mask);
                        w.write((o + "\n").getBytes(StandardCharsets.UTF_8));
                        lines[0]++;
                    }
                }
            });
            System.out.printf("encoded %d lines with %s (%s) into %s%n", lines[0], t.file(), t.model(), output);
        }
        return 0;
    }
}
