package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The task-head keys of {@code config.json}: written as Hugging Face writes them, read back equal, read
 * from Hugging Face's own files (defaults included), and bad ones refused with the key in the message.
 */
class HeadConfigJsonTest {

    private static final HeadConfig SENTIMENT = HeadConfig.sequenceClassification(List.of("NEG", "POS"));

    @ParameterizedTest
    @ValueSource(strings = {"bert-tiny", "roberta-tiny", "distilbert-tiny"})
    void headsRoundTripWithTheirClassNames(String preset) {
        String family = preset.startsWith("bert") ? "Bert" : preset.startsWith("roberta") ? "Roberta" : "DistilBert";
        for (HeadConfig head : List.of(SENTIMENT, HeadConfig.sequenceClassification(List.of("score")).withClassifierDropout(0.3),
                HeadConfig.tokenClassification(List.of("O", "B-LOC", "I-LOC")))) {
            TransformerConfig c = Presets.get(preset).toBuilder().optHead(head).build();
            String json = HfConfigJson.toJson(c);
            assertEquals(c, HfConfigJson.parse(json), json);
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            assertEquals(family + head.task().hfSuffix(), o.getAsJsonArray("architectures").get(0).getAsString());
            assertEquals(head.labels().get(0), o.getAsJsonObject("id2label").get("0").getAsString());
            assertEquals(0, o.getAsJsonObject("label2id").get(head.labels().get(0)).getAsInt());
            assertEquals(head.problemType().hfName(), o.get("problem_type").getAsString());
        }
    }

    @Test
    void pretrainingConfigsWriteNoHeadKeys() {
        JsonObject o = JsonParser.parseString(HfConfigJson.toJson(Presets.get("bert-tiny"))).getAsJsonObject();
        assertFalse(o.has("id2label") || o.has("problem_type") || o.has("classifier_dropout"), o.toString());
        assertEquals("BertForPreTraining", o.getAsJsonArray("architectures").get(0).getAsString());
    }

    @Test
    void huggingFaceDefaultsApply() {
        HeadConfig two = read("bert-tiny", o -> o.add("architectures", names("BertForSequenceClassification"))).head();
        assertEquals(HeadConfig.defaultLabels(2), two.labels());
        assertEquals(HeadConfig.ProblemType.SINGLE_LABEL_CLASSIFICATION, two.problemType());
        assertNull(two.classifierDropout());
        HeadConfig one = read("roberta-tiny", o -> {
            o.add("architectures", names("RobertaForSequenceClassification"));
            o.addProperty("num_labels", 1);
        }).head();
        assertEquals(HeadConfig.ProblemType.REGRESSION, one.problemType());
        HeadConfig distil = read("distilbert-tiny", o -> {
            o.add("architectures", names("DistilBertForTokenClassification"));
            o.add("id2label", JsonParser.parseString("{\"0\": \"O\", \"1\": \"B-PER\"}"));
            o.addProperty("seq_classif_dropout", 0.25);
        }).head();
        assertEquals(HeadConfig.Task.TOKEN_CLASSIFICATION, distil.task());
        assertEquals(List.of("O", "B-PER"), distil.labels());
        assertEquals(0.25, distil.classifierDropout());
        assertEquals(HeadConfig.Task.PRETRAINING, read("bert-tiny", o -> o.add("architectures", names("BertModel"))).head().task());
    }

    @Test
    void badHeadKeysAreRefused() {
        assertRefused("\"num_labels\" = 3 but \"id2label\" names 2", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.add("id2label", JsonParser.parseString("{\"0\": \"a\", \"1\": \"b\"}"));
            o.addProperty("num_labels", 3);
        });
        assertRefused("labels must be distinct", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.add("id2label", JsonParser.parseString("{\"0\": \"a\", \"1\": \"a\"}"));
        });
        assertRefused("not the inverse", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.add("id2label", JsonParser.parseString("{\"0\": \"a\", \"1\": \"b\"}"));
            o.add("label2id", JsonParser.parseString("{\"a\": 1, \"b\": 0}"));
        });
        assertRefused("\"num_labels\" = 0 must be >= 1", o -> {
            o.add("architectures", names("BertForTokenClassification"));
            o.addProperty("num_labels", 0);
        });
        assertRefused("multi_label_classification\" is not supported", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.addProperty("problem_type", "multi_label_classification");
        });
        assertRefused("regression needs a SEQUENCE_CLASSIFICATION head with numLabels = 1", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.addProperty("problem_type", "regression");
        });
        assertRefused("no name for id 1", o -> {
            o.add("architectures", names("BertForSequenceClassification"));
            o.add("id2label", JsonParser.parseString("{\"0\": \"a\", \"2\": \"b\"}"));
        });
    }

    @Test
    void builderRefusesHeadsOutsideTheEncoderFamilies() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Presets.get("gpt2-tiny").toBuilder().optHead(SENTIMENT).build());
        assertTrue(e.getMessage().contains("not built for GPT2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HeadConfig.sequenceClassification(List.of()));
        assertTrue(e.getMessage().contains("numLabels = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HeadConfig.defaultLabels(0));
        assertTrue(e.getMessage().contains("numLabels = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SENTIMENT.withClassifierDropout(1.0));
        assertTrue(e.getMessage().contains("classifierDropout = 1.0"), e.getMessage());
    }

    private static JsonArray names(String name) {
        JsonArray a = new JsonArray();
        a.add(name);
        return a;
    }

    private static TransformerConfig read(String preset, Consumer<JsonObject> edit) {
        JsonObject o = JsonParser.parseString(HfConfigJson.toJson(Presets.get(preset))).getAsJsonObject();
        edit.accept(o);
        return HfConfigJson.parse(o.toString());
    }

    private static void assertRefused(String fragment, Consumer<JsonObject> edit) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read("bert-tiny", edit));
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
}
