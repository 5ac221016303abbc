package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link HfTokenizerFiles}: the bytes of each file for a small vocabulary, written out by hand. */
class HfTokenizerFilesTest {

    private static final Vocabulary VOCAB = Vocabulary.of(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s", "café"));

    private static JsonObject json(byte[] b) {
        return JsonParser.parseString(new String(b, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    @Test
    void uncasedBertFiles() {
        Map<String, byte[]> f = HfTokenizerFiles.of(VOCAB, true, 512, false);
        assertEquals(List.of("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"), List.copyOf(f.keySet()));
        assertEquals("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\ncafé\n", new String(f.get("vocab.txt"), StandardCharsets.UTF_8));
        assertEquals("{\n  \"tokenizer_class\": \"BertTokenizer\",\n  \"do_lower_case\": true,\n  \"do_basic_tokenize\": true,\n"
                + "  \"never_split\": null,\n  \"tokenize_chinese_chars\": true,\n  \"strip_accents\": true,\n"
                + "  \"model_max_length\": 512,\n  \"clean_up_tokenization_spaces\": true,\n  \"unk_token\": \"[UNK]\",\n"
                + "  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\"\n}\n",
                new String(f.get("tokenizer_config.json"), StandardCharsets.UTF_8));
        assertEquals("{\n  \"unk_token\": \"[UNK]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
                + "  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\"\n}\n",
                new String(f.get("special_tokens_map.json"), StandardCharsets.UTF_8));
    }

    @Test
    void casedGpt2FilesKeepCaseAndAccentsAndNameTheDocumentEnd() {
        Map<String, byte[]> f = HfTokenizerFiles.of(VOCAB, false, 1024, true);
        JsonObject config = json(f.get("tokenizer_config.json"));
        assertEquals(false, config.get("do_lower_case").getAsBoolean());
        assertEquals(false, config.get("strip_accents").getAsBoolean(), "BasicTokenizer strips accents only when it lower-cases");
        assertEquals(1024, config.get("model_max_length").getAsInt());
        assertEquals("[SEP]", config.get("eos_token").getAsString());
        assertEquals("[SEP]", json(f.get("special_tokens_map.json")).get("eos_token").getAsString());
    }

    @Test
    void refusesANonPositiveMaxLength() {
        assertThrows(IllegalArgumentException.class, () -> HfTokenizerFiles.of(VOCAB, true, 0, false));
    }
}
