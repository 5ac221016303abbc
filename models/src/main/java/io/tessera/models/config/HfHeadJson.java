package io.tessera.models.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The task-head keys of a Hugging Face {@code config.json} ({@link HeadConfig}):
 * <pre>
 *   architectures         ["BertForSequenceClassification"]      → task (…ForSequenceClassification /
 *                                                                    …ForTokenClassification; anything else
 *                                                                    is the pre-training model)
 *   id2label              {"0": "NEG", "1": "POS"}               → labels, ids 0 … K-1
 *   label2id              {"NEG": 0, "POS": 1}                   must be id2label's inverse
 *   num_labels            2                                      must equal id2label's size (when both)
 *   problem_type          "regression" | "single_label_classification" | null (K = 1 → regression)
 *   classifier_dropout    BERT, RoBERTa: null → hidden_dropout_prob
 *   seq_classif_dropout   DistilBERT: absent → 0.2
 * </pre>
 * Without {@code id2label} or {@code num_labels} a classifier has Hugging Face's default two labels
 * {@code LABEL_0, LABEL_1}. Pre-training configurations write none of these keys.
 *
 * <p>Thread safety: stateless, safe to call from any thread.
 */
final class HfHeadJson {

    private HfHeadJson() {}

    /**
     * The Hugging Face class of a configuration, as written in {@code architectures}.
     *
     * @param config the configuration
     * @return e.g. {@code "RobertaForSequenceClassification"}, or the pre-training class
     */
    static String hfClassName(TransformerConfig config) {
        HeadConfig.Task task = config.head().task();
        if (task == HeadConfig.Task.PRETRAINING) {
            return ModelVariant.PRETRAINING_MODEL.hfClassName(config);
        }
        String family = switch (config.architecture()) {
            case ROBERTA -> "Roberta";
            case DISTILBERT -> "DistilBert";
            default -> config.preLayerNorm() ? "MegatronBert" : "Bert";
        };
        return family + task.hfSuffix();
    }

    /**
     * Reads the head from a parsed {@code config.json}.
     *
     * @param o the JSON object
     * @param architecture the family
     * @return the head
     * @throws IllegalArgumentException naming the key, the value and the rule
     */
    static HeadConfig read(JsonObject o, Architecture architecture) {
        HeadConfig.Task task = task(o);
        if (task == HeadConfig.Task.PRETRAINING) {
            return HeadConfig.PRETRAINING;
        }
        List<String> labels = labels(o);
        HeadConfig.ProblemType problem = HeadConfig.defaultProblemType(labels.size());
        if (o.has("problem_type") && !o.get("problem_type").isJsonNull()) {
            problem = HeadConfig.ProblemType.fromHfName(string(o, "problem_type"));
        }
        String dropoutKey = architecture == Architecture.DISTILBERT ? "seq_classif_dropout" : "classifier_dropout";
        Double dropout = null;
        if (o.has(dropoutKey) && !o.get(dropoutKey).isJsonNull()) {
            JsonElement e = o.get(dropoutKey);
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new IllegalArgumentException("key \"" + dropoutKey + "\" must be a number or null, found " + e);
            }
            dropout = e.getAsDouble();
        }
        return new HeadConfig(task, labels, problem, dropout);
    }

    /**
     * Adds a classifier's keys (none for the pre-training heads).
     *
     * @param m key → value, sorted by the caller
     * @param config the configuration
     */
    static void put(Map<String, JsonElement> m, TransformerConfig config) {
        HeadConfig head = config.head();
        if (head.task() == HeadConfig.Task.PRETRAINING) {
            return;
        }
        JsonObject id2label = new JsonObject();
        JsonObject label2id = new JsonObject();
        for (int i = 0; i < head.numLabels(); i++) {
            id2label.addProperty(Integer.toString(i), head.labels().get(i));
            label2id.addProperty(head.labels().get(i), i);
        }
        m.put("id2label", id2label);
        m.put("label2id", label2id);
        m.put("problem_type", new JsonPrimitive(head.problemType().hfName()));
        if (config.architecture() == Architecture.DISTILBERT) {
            if (head.classifierDropout() != null) {
                m.put("seq_classif_dropout", new JsonPrimitive(head.classifierDropout()));
            }
        } else {
            m.put("classifier_dropout", head.classifierDropout() == null ? JsonNull.INSTANCE
                    : new JsonPrimitive(head.classifierDropout()));
        }
    }

    private static HeadConfig.Task task(JsonObject o) {
        JsonElement a = o.get("architectures");
        if (a == null || a.isJsonNull()) {
            return HeadConfig.Task.PRETRAINING;
        }
        if (!a.isJsonArray()) {
            throw new IllegalArgumentException("key \"architectures\" must be a list of class names, found " + a);
        }
        JsonArray names = a.getAsJsonArray();
        for (JsonElement e : names) {
            String name = e.isJsonPrimitive() ? e.getAsString() : "";
            for (HeadConfig.Task t : HeadConfig.Task.values()) {
                if (t != HeadConfig.Task.PRETRAINING && name.endsWith(t.hfSuffix())) {
                    return t;
                }
            }
        }
        return HeadConfig.Task.PRETRAINING;
    }

    private static List<String> labels(JsonObject o) {
        Integer numLabels = null;
        if (o.has("num_labels")) {
            JsonElement e = o.get("num_labels");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new IllegalArgumentException("key \"num_labels\" must be an integer, found " + e);
            }
            numLabels = e.getAsInt();
            if (numLabels < 1) {
                throw new IllegalArgumentException("key \"num_labels\" = " + numLabels
                        + " must be >= 1: a classifier predicts at least one output; set it to the number of labels");
            }
        }
        if (!o.has("id2label") || o.get("id2label").isJsonNull()) {
            return HeadConfig.defaultLabels(numLabels != null ? numLabels : 2);
        }
        JsonElement e = o.get("id2label");
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException("key \"id2label\" must map ids to names, {\"0\": \"NEG\", ...}, found " + e);
        }
        JsonObject map = e.getAsJsonObject();
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < map.size(); i++) {
            JsonElement name = map.get(Integer.toString(i));
            if (name == null || !name.isJsonPrimitive()) {
                throw new IllegalArgumentException("key \"id2label\" has " + map.size() + " entries but no name for id " + i
                        + ": ids must be 0 … " + (map.size() - 1) + ", found " + map.keySet());
            }
            labels.add(name.getAsString());
        }
        if (numLabels != null && numLabels != labels.size()) {
            throw new IllegalArgumentException("key \"num_labels\" = " + numLabels + " but \"id2label\" names " + labels.size()
                    + " labels " + labels + "; make them agree (or drop num_labels)");
        }
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("key \"id2label\" is empty: a classifier needs num_labels >= 1");
        }
        if (o.has("label2id") && !o.get("label2id").isJsonNull()) {
            checkInverse(o.get("label2id"), labels);
        }
        return labels;
    }

    private static void checkInverse(JsonElement label2id, List<String> labels) {
        boolean ok = label2id.isJsonObject() && label2id.getAsJsonObject().size() == labels.size();
        for (int i = 0; ok && i < labels.size(); i++) {
            JsonElement id = label2id.getAsJsonObject().get(labels.get(i));
            ok = id != null && id.isJsonPrimitive() && id.getAsJsonPrimitive().isNumber() && id.getAsInt() == i;
        }
        if (!ok) {
            throw new IllegalArgumentException("key \"label2id\" = " + label2id + " is not the inverse of \"id2label\" "
                    + labels + " (labels must be distinct and map back to their ids); fix it or drop label2id");
        }
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException("key \"" + key + "\" must be a string, found " + e);
        }
        return e.getAsString();
    }
}
