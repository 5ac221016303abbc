package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A byte-level BPE {@code tokenizer.json} (GPT-2 / RoBERTa style: ByteLevel pre-tokenizer, BPE merges,
 * RoBERTa's {@code <s> … </s>} post-processor), learnt in this test from WikiText, read through
 * {@link HfTokenizer}: the ids equal those of the plain-Java byte-level BPE below, written from
 * GPT-2's published algorithm (the pre-tokenisation regex, the byte-to-unicode table, merges applied
 * lowest rank first). And a broken or unsupported file gets a clear error.
 */
class ByteLevelBpeTokenizerTest {

    /** GPT-2's pre-tokenisation pattern. */
    private static final Pattern SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final List<String> SPECIALS = List.of("<s>", "<pad>", "</s>", "<unk>");

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to 256 + n. */
    static char[] byteToUnicode() {
        char[] map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    static List<String> symbols(String word, char[] table) {
        List<String> out = new ArrayList<>();
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
            out.add(String.valueOf(table[b & 0xFF]));
        }
        return out;
    }

    static List<String> pieces(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /** Applies merges to one pre-token, lowest rank first (the reference encoder). */
    static List<String> bpe(List<String> symbols, Map<String, Integer> ranks) {
        List<String> s = new ArrayList<>(symbols);
        while (s.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < s.size(); i++) {
                Integer r = ranks.get(s.get(i) + " " + s.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            String a = s.get(best);
            String b = s.get(best + 1);
            List<String> next = new ArrayList<>();
            for (int i = 0; i < s.size(); i++) {
                if (i + 1 < s.size() && s.get(i).equals(a) && s.get(i + 1).equals(b)) {
                    next.add(a + b);
                    i++;
                } else {
                    next.add(s.get(i));
                }
            }
            s = next;
        }
        return s;
    }

    @Test
    void idsEqualThePlainJavaByteLevelBpeOnWikiText(@TempDir Path dir) throws Exception {
        Path wiki = WikiText2.find(Path.of("").toAbsolutePath()).orElseThrow();
        char[] table = byteToUnicode();
        List<String> lines = Files.readAllLines(wiki.resolve("valid.txt"), StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank())
                .toList();
        // Learn 400 merges from the first 300 lines (a plain BPE training loop).
        Map<List<String>, Integer> words = new HashMap<>();
        for (String line : lines.subList(0, 300)) {
            for (String p : pieces(line)) {
                words.merge(symbols(p, table), 1, Integer::sum);
            }
        }
        List<String> merges = new ArrayList<>();
        Map<String, Integer> ranks = new HashMap<>();
        for (int k = 0; k < 400; k++) {
            Map<String, Integer> pairs = new HashMap<>();
            words.forEach((w, n) -> {
                for (int i = 0; i + 1 < w.size(); i++) {
                    pairs.merge(w.get(i) + " " + w.get(i + 1), n, Integer::sum);
                }
            });
            // Most frequent pair; ties to the alphabetically first, so the merges are the same on every run.
            String top = null;
            int topCount = -1;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (e.getValue() > topCount || (e.getValue() == topCount && e.getKey().compareTo(top) < 0)) {
                    top = e.getKey();
                    topCount = e.getValue();
                }
            }
            String chosen = top;
            ranks.put(chosen, k);
            merges.add(chosen);
            Map<List<String>, Integer> next = new HashMap<>();
            words.forEach((w, n) -> next.merge(bpe(w, Map.of(chosen, 0)), n, Integer::sum));
            words = next;
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        SPECIALS.forEach(s -> vocab.put(s, vocab.size()));
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(table[b]), vocab.size());
        }
        for (String m : merges) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, tokenizerJson(vocab, merges).toString(), StandardCharsets.UTF_8);

        long compared = 0;
        try (HfTokenizer rust = HfTokenizer.load(dir)) {
            assertEquals("BPE", rust.model());
            assertArrayEquals(new int[] {0}, rust.prefix());
            assertArrayEquals(new int[] {2}, rust.suffix());
            assertEquals(1, rust.padId());
            for (String line : lines.subList(300, 700)) {
                List<Integer> expected = new ArrayList<>(List.of(0));
                // Added (special) tokens are cut out first and kept whole; the text between them is pre-tokenised apart.
                Matcher special = Pattern.compile(String.join("|", SPECIALS.stream().map(Pattern::quote).toList())).matcher(line);
                int at = 0;
                List<String> segments = new ArrayList<>();
                while (special.find()) {
                    segments.add(line.substring(at, special.start()));
                    segments.add(special.group());
                    at = special.end();
                }
                segments.add(line.substring(at));
                for (String segment : segments) {
                    if (SPECIALS.contains(segment)) {
                        expected.add(vocab.get(segment));
                        continue;
                    }
                    for (String p : pieces(segment)) {
                        for (String t : bpe(symbols(p, table), ranks)) {
                            expected.add(vocab.get(t));
                        }
                    }
                }
                expected.add(2);
                assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), rust.encode(line, true), line);
                compared += expected.size();
            }
            // Pre-split words: each word is encoded as if preceded by a space (add_prefix_space), as RoBERTa's token classification does.
            List<int[]> w = rust.encodeWords(List.of("The", "game", "began"));
            List<Integer> game = new ArrayList<>();
            bpe(symbols(" game", table), ranks).forEach(t -> game.add(vocab.get(t)));
            assertArrayEquals(game.stream().mapToInt(Integer::intValue).toArray(), w.get(1));
        }
        assertTrue(compared > 10_000, "compared " + compared + " ids");
    }

    @Test
    void aMissingBrokenOrUnsupportedTokenizerFileIsRefused(@TempDir Path dir) throws Exception {
        String missing = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(dir)).getMessage();
        assertTrue(missing.contains("tokenizer.json does not exist"), missing);
        Path broken = dir.resolve("tokenizer.json");
        Files.writeString(broken, "{\"model\": {\"type\": ");
        String bad = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(broken)).getMessage();
        assertTrue(bad.contains("is not valid JSON"), bad);
        Files.writeString(broken, "{\"version\": \"1.0\", \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}}");
        String unsupported = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(broken)).getMessage();
        assertTrue(unsupported.contains("\"WordLevel\" is not supported") && unsupported.contains("BPE"), unsupported);
    }

    private static JsonObject tokenizerJson(Map<String, Integer> vocab, List<String> merges) {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        JsonArray added = new JsonArray();
        for (String s : SPECIALS) {
            JsonObject t = new JsonObject();
            t.addProperty("id", vocab.get(s));
            t.addProperty("content", s);
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        root.add("added_tokens", added);
        JsonObject pre = new JsonObject();
        pre.addProperty("type", "ByteLevel");
        pre.addProperty("add_prefix_space", false);
        pre.addProperty("trim_offsets", true);
        pre.addProperty("use_regex", true);
        root.add("pre_tokenizer", pre);
        JsonObject post = new JsonObject();
        post.addProperty("type", "RobertaProcessing");
        JsonArray sep = new JsonArray();
        sep.add("</s>");
        sep.add(2);
        JsonArray cls = new JsonArray();
        cls.add("<s>");
        cls.add(0);
        post.add("sep", sep);
        post.add("cls", cls);
        post.addProperty("trim_offsets", true);
        post.addProperty("add_prefix_space", false);
        root.add("post_processor", post);
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "ByteLevel");
        decoder.addProperty("add_prefix_space", true);
        decoder.addProperty("trim_offsets", true);
        decoder.addProperty("use_regex", true);
        root.add("decoder", decoder);
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", null);
        model.add("unk_token", null);
        JsonObject v = new JsonObject();
        vocab.forEach(v::addProperty);
        model.add("vocab", v);
        JsonArray m = new JsonArray();
        merges.forEach(m::add);
        model.add("merges", m);
        root.add("model", model);
        return root;
    }
}
