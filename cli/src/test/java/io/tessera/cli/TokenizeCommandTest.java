package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WordPieceTokenizer;
import io.tessera.train.finetune.FineTuneFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera tokenize} writes, per input line, the ids and mask of the directory's tokenizer.json. */
class TokenizeCommandTest {

    @Test
    void eachLineIsEncodedWithItsSpecialTokens(@TempDir Path dir) throws Exception {
        Path model = FineTuneFixture.pretrained(dir.resolve("model"), "bert-tiny");
        List<String> lines = List.of("The film was good .", "", "Mary visited New York and London");
        Path in = dir.resolve("in.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        Path out = dir.resolve("out.jsonl");
        FinetuneCommandTest.Outcome o = FinetuneCommandTest.run("tokenize", "--tokenizer", model.toString(), "--input", in.toString(),
                "--output", out.toString());
        assertEquals(0, o.code(), o.err());
        List<String> rows = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(lines.size(), rows.size(), "one row per input line");
        Vocabulary v = FineTuneFixture.vocabulary();
        WordPieceTokenizer wp = new WordPieceTokenizer(v, true);
        for (int i = 0; i < lines.size(); i++) {
            JsonObject row = JsonParser.parseString(rows.get(i)).getAsJsonObject();
            int[] body = wp.encode(lines.get(i));
            int[] expected = new int[body.length + 2];
            expected[0] = v.clsId();
            System.arraycopy(body, 0, expected, 1, body.length);
            expected[expected.length - 1] = v.sepId();
            assertArrayEquals(expected, ints(row.getAsJsonArray("input_ids")), lines.get(i));
            int[] ones = new int[expected.length];
            java.util.Arrays.fill(ones, 1);
            assertArrayEquals(ones, ints(row.getAsJsonArray("attention_mask")));
        }
    }

    @Test
    void aDirectoryWithoutTokenizerJsonIsRefused(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.txt");
        Files.writeString(in, "a line\n");
        Path out = dir.resolve("out.jsonl");
        FinetuneCommandTest.Outcome o = FinetuneCommandTest.run("tokenize", "--tokenizer", dir.toString(), "--input", in.toString(),
                "--output", out.toString());
        FinetuneCommandTest.assertFails(o, "tokenizer.json does not exist");
        assertFalse(Files.exists(out), "nothing written");
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
