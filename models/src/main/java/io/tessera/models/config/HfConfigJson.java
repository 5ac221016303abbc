package io.tessera.models.config;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Reads and writes Hugging Face {@code config.json} files for BERT, Megatron-BERT, RoBERTa, DistilBERT
 * and GPT-2, so that Tessera checkpoints line up with the ecosystem.
 *
 * <p>RoBERTa ({@code model_type "roberta"}) uses BERT's keys plus {@code pad_token_id} (default 1),
 * with {@code RobertaConfig}'s fallbacks. DistilBERT ({@code model_type "distilbert"}) has its own:
 * {@code dim} (hidden), {@code n_layers}, {@code n_heads}, {@code hidden_dim} (MLP inner size),
 * {@code max_position_embeddings}, {@code activation}, {@code dropout}, {@code attention_dropout},
 * {@code initializer_range}, {@code pad_token_id}; {@code sinusoidal_pos_embds} must be false and its
 * LayerNorm epsilon is 1e-12, fixed in Hugging Face's code.
 *
 * <table>
 *   <caption>Keys per field</caption>
 *   <tr><th>field</th><th>BERT / Megatron-BERT</th><th>GPT-2</th></tr>
 *   <tr><td>vocabSize</td><td>vocab_size</td><td>vocab_size</td></tr>
 *   <tr><td>hiddenSize</td><td>hidden_size</td><td>n_embd</td></tr>
 *   <tr><td>numLayers</td><td>num_hidden_layers</td><td>n_layer</td></tr>
 *   <tr><td>numHeads</td><td>num_attention_heads</td><td>n_head</td></tr>
 *   <tr><td>intermediateSize</td><td>intermediate_size</td><td>n_inner (null: 4·n_embd)</td></tr>
 *   <tr><td>maxPositions</td><td>max_position_embeddings</td><td>n_positions (n_ctx must agree)</td></tr>
 *   <tr><td>typeVocabSize</td><td>type_vocab_size (default 2)</td><td>none</td></tr>
 *   <tr><td>hiddenAct</td><td>hidden_act (default gelu)</td><td>activation_function (default gelu_new)</td></tr>
 *   <tr><td>hiddenDropout</td><td>hidden_dropout_prob (0.1)</td><td>resid_pdrop = embd_pdrop (0.1)</td></tr>
 *   <tr><td>attentionDropout</td><td>attention_probs_dropout_prob (0.1)</td><td>attn_pdrop (0.1)</td></tr>
 *   <tr><td>layerNormEps</td><td>layer_norm_eps (1e-12)</td><td>layer_norm_epsilon (1e-5)</td></tr>
 *   <tr><td>initializerRange</td><td>initializer_range (0.02)</td><td>initializer_range (0.02)</td></tr>
 *   <tr><td>preLayerNorm</td><td>model_type "megatron-bert", or tessera_pre_layer_norm</td><td>always true</td></tr>
 *   <tr><td>makeVocabSizeDivisibleBy</td><td colspan="2">tessera_make_vocab_size_divisible_by (default 128)</td></tr>
 * </table>
 *
 * <p>Reading: the shape keys (vocabulary, hidden, layers, heads, positions, and BERT's
 * {@code intermediate_size}) are required; the others take Hugging Face's defaults when absent. Keys
 * Tessera does not use ({@code pad_token_id}, {@code transformers_version}, …) are ignored, but keys
 * that would change the network into one Tessera does not build are rejected: a
 * {@code position_embedding_type} other than {@code "absolute"}, {@code is_decoder} or
 * {@code add_cross_attention} true, {@code tie_word_embeddings} false, GPT-2's
 * {@code scale_attn_weights} false or {@code scale_attn_by_inverse_layer_idx} true. Every error names
 * the key, the value found, the rule and a fix.
 *
 * <p>Writing: keys sorted as Hugging Face writes them, {@code architectures} set to the
 * pre-training class ({@code BertForPreTraining}, {@code MegatronBertForPreTraining},
 * {@code GPT2LMHeadModel} or {@code AlbertForPreTraining}). ALBERT ({@code model_type "albert"})
 * reads BERT's keys with {@code AlbertConfig}'s defaults ({@code gelu_new}, dropouts 0) plus
 * {@code embedding_size}, {@code num_hidden_groups}, {@code inner_group_num} and
 * {@code classifier_dropout_prob} ({@link AlbertShape}). A pre-LN BERT is written as {@code model_type "megatron-bert"}, the
 * Hugging Face class whose layout (per-layer input LayerNorms, a final LayerNorm, no embedding
 * LayerNorm) it has: written as {@code "bert"}, Hugging Face would silently build a post-LN model.
 * The Tessera-only fields go under {@code tessera_*} keys, which Hugging Face keeps as plain
 * attributes and otherwise ignores. {@code read(write(c))} equals {@code c}.
 *
 * <p>Task heads: {@code architectures}, {@code id2label}, {@code label2id}, {@code num_labels},
 * {@code problem_type}, {@code classifier_dropout} / {@code seq_classif_dropout}, read and written by
 * {@link HfHeadJson} (a classifier's {@code architectures} names its class, e.g.
 * {@code BertForSequenceClassification}).
 *
 * <p>Thread safety: stateless, safe to call from any thread.
 */
public final class HfConfigJson {

    /** The file name Hugging Face uses in a model directory. */
    public static final String FILE_NAME = "config.json";

    static final String PRE_LAYER_NORM_KEY = "tessera_pre_layer_norm";
    static final String DIVISIBLE_BY_KEY = "tessera_make_vocab_size_divisible_by";

    /** Writes pretty, keeps {@code "n_inner": null}, and parses strict JSON (no NaN, comments or bare words). */
    /** Tessera field to BERT key, to name both in errors. */
    private static final Map<String, String> BERT_KEYS = Map.ofEntries(
            Map.entry("vocabSize", "vocab_size"), Map.entry("hiddenSize", "hidden_size"),
            Map.entry("numLayers", "num_hidden_layers"), Map.entry("numHeads", "num_attention_heads"),
            Map.entry("intermediateSize", "intermediate_size"), Map.entry("maxPositions", "max_position_embeddings"),
            Map.entry("typeVocabSize", "type_vocab_size"), Map.entry("layerNormEps", "layer_norm_eps"),
            Map.entry("hiddenDropout", "hidden_dropout_prob"),
            Map.entry("attentionDropout", "attention_probs_dropout_prob"),
            Map.entry("initializerRange", "initializer_range"),
            Map.entry("makeVocabSizeDivisibleBy", DIVISIBLE_BY_KEY), Map.entry("padTokenId", "pad_token_id"));

    /** Tessera field to DistilBERT key, to name both in errors. */
    private static final Map<String, String> DISTILBERT_KEYS = Map.ofEntries(
            Map.entry("vocabSize", "vocab_size"), Map.entry("hiddenSize", "dim"), Map.entry("numLayers", "n_layers"),
            Map.entry("numHeads", "n_heads"), Map.entry("intermediateSize", "hidden_dim"),
            Map.entry("maxPositions", "max_position_embeddings"), Map.entry("hiddenDropout", "dropout"),
            Map.entry("attentionDropout", "attention_dropout"), Map.entry("initializerRange", "initializer_range"),
            Map.entry("makeVocabSizeDivisibleBy", DIVISIBLE_BY_KEY), Map.entry("padTokenId", "pad_token_id"));

    /** Tessera field to GPT-2 key, to name both in errors. */
    private static final Map<String, String> GPT2_KEYS = Map.ofEntries(
            Map.entry("vocabSize", "vocab_size"), Map.entry("hiddenSize", "n_embd"), Map.entry("numLayers", "n_layer"),
            Map.entry("numHeads", "n_head"), Map.entry("intermediateSize", "n_inner"),
            Map.entry("maxPositions", "n_positions"), Map.entry("layerNormEps", "layer_norm_epsilon"),
            Map.entry("hiddenDropout", "resid_pdrop"), Map.entry("attentionDropout", "attn_pdrop"),
            Map.entry("initializerRange", "initializer_range"),
            Map.entry("makeVocabSizeDivisibleBy", DIVISIBLE_BY_KEY));

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls()
            .setStrictness(Strictness.STRICT).create();

    private HfConfigJson() {}

    /**
     * Reads a {@code config.json}.
     *
     * @param path the file, or a model directory holding {@value #FILE_NAME}
     * @return the configuration
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if the content is not a supported, valid configuration; the
     *     message starts with the path
     */
    public static TransformerConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        String json = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses the text of a {@code config.json}.
     *
     * @param json the JSON text
     * @return the configuration
     * @throws IllegalArgumentException if the text is not JSON, or not a supported, valid configuration
     */
    public static TransformerConfig parse(String json) {
        Objects.requireNonNull(json, "json");
        JsonElement root;
        try {
            root = GSON.fromJson(json, JsonElement.class);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("config.json is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isJsonObject()) {
            throw new IllegalArgumentException("config.json must hold a JSON object {...}, found " + describe(root));
        }
        Keys k = new Keys(root.getAsJsonObject());
        String modelType = k.requiredString("model_type");
        TransformerConfig.Builder b;
        switch (modelType) {
            case "bert":
                b = readBert(k, k.optionalBoolean(PRE_LAYER_NORM_KEY, false));
                break;
            case "megatron-bert":
                k.require(PRE_LAYER_NORM_KEY, true,
                        "model_type \"megatron-bert\" is pre-LN (model_type \"bert\" is the post-LN model)");
                b = readBert(k, true);
                break;
            case "gpt2":
                k.require(PRE_LAYER_NORM_KEY, true, "GPT-2 is always pre-LN");
                b = readGpt2(k);
                break;
            case "albert":
                k.require(PRE_LAYER_NORM_KEY, false, "ALBERT is post-LN");
                b = readAlbert(k);
                break;
            case "roberta":
                k.require(PRE_LAYER_NORM_KEY, false, "RoBERTa is post-LN");
                b = readRoberta(k);
                break;
            case "distilbert":
                k.require(PRE_LAYER_NORM_KEY, false, "DistilBERT is post-LN");
                b = readDistilBert(k);
                break;
            default:
                throw new IllegalArgumentException("model_type = \"" + modelType
                        + "\" is not supported: Tessera reads \"bert\", \"megatron-bert\", \"roberta\", \"distilbert\", \"albert\""
                        + " and \"gpt2\" configs; convert the model or start from a preset (Presets.names())");
        }
        k.require("tie_word_embeddings", true, "Tessera always ties the output layer to the token embedding");
        k.require("add_cross_attention", false, "Tessera builds no cross-attention");
        b.optMakeVocabSizeDivisibleBy(
                k.optionalInt(DIVISIBLE_BY_KEY, TransformerConfig.DEFAULT_MAKE_VOCAB_SIZE_DIVISIBLE_BY));
        b.optHead(HfHeadJson.read(root.getAsJsonObject(), k.architecture(modelType)));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            Map<String, String> keys = modelType.equals("gpt2") ? GPT2_KEYS
                    : modelType.equals("distilbert") ? DISTILBERT_KEYS : BERT_KEYS;
            for (Map.Entry<String, String> field : keys.entrySet()) {
                message = message.replace(field.getKey() + " = ", field.getKey() + " (" + field.getValue() + ") = ");
            }
            throw new IllegalArgumentException(
                    "config.json (model_type \"" + modelType + "\") describes an invalid model: " + message, e);
        }
    }

    private static TransformerConfig.Builder readBert(Keys k, boolean preLayerNorm) {
        String positionType = k.optionalString("position_embedding_type", "absolute");
        if (!positionType.equals("absolute")) {
            throw new IllegalArgumentException("position_embedding_type = \"" + positionType
                    + "\" is not supported: Tessera builds learned absolute position embeddings only;"
                    + " use \"absolute\" (or remove the key)");
        }
        k.require("is_decoder", false, "Tessera's BERT is a bidirectional encoder");
        return TransformerConfig.builder(Architecture.BERT)
                .setVocabSize(k.requiredInt("vocab_size"))
                .setHiddenSize(k.requiredInt("hidden_size"))
                .setNumLayers(k.requiredInt("num_hidden_layers"))
                .setNumHeads(k.requiredInt("num_attention_heads"))
                .optIntermediateSize(k.requiredInt("intermediate_size"))
                .setMaxPositions(k.requiredInt("max_position_embeddings"))
                .optTypeVocabSize(k.optionalInt("type_vocab_size", 2))
                .optHiddenAct(k.activation("hidden_act", Activation.GELU))
                .optHiddenDropout(k.optionalDouble("hidden_dropout_prob", 0.1))
                .optAttentionDropout(k.optionalDouble("attention_probs_dropout_prob", 0.1))
                .optLayerNormEps(k.optionalDouble("layer_norm_eps", 1e-12))
                .optInitializerRange(k.optionalDouble("initializer_range", 0.02))
                .optPreLayerNorm(preLayerNorm);
    }

    /**
     * RoBERTa: BERT's keys, with Hugging Face {@code RobertaConfig}'s fallbacks for absent ones
     * ({@code type_vocab_size 2}, {@code layer_norm_eps 1e-12}, {@code pad_token_id 1}; the released
     * checkpoints write 1 and 1e-5).
     */
    private static TransformerConfig.Builder readRoberta(Keys k) {
        String positionType = k.optionalString("position_embedding_type", "absolute");
        if (!positionType.equals("absolute")) {
            throw new IllegalArgumentException("position_embedding_type = \"" + positionType
                    + "\" is not supported: Tessera builds learned absolute position embeddings only;"
                    + " use \"absolute\" (or remove the key)");
        }
        k.require("is_decoder", false, "Tessera's RoBERTa is a bidirectional encoder");
        return TransformerConfig.builder(Architecture.ROBERTA)
                .setVocabSize(k.requiredInt("vocab_size"))
                .setHiddenSize(k.requiredInt("hidden_size"))
                .setNumLayers(k.requiredInt("num_hidden_layers"))
                .setNumHeads(k.requiredInt("num_attention_heads"))
                .optIntermediateSize(k.requiredInt("intermediate_size"))
                .setMaxPositions(k.requiredInt("max_position_embeddings"))
                .optTypeVocabSize(k.optionalInt("type_vocab_size", 2))
                .optHiddenAct(k.activation("hidden_act", Activation.GELU))
                .optHiddenDropout(k.optionalDouble("hidden_dropout_prob", 0.1))
                .optAttentionDropout(k.optionalDouble("attention_probs_dropout_prob", 0.1))
                .optLayerNormEps(k.optionalDouble("layer_norm_eps", 1e-12))
                .optInitializerRange(k.optionalDouble("initializer_range", 0.02))
                .optPadTokenId(k.optionalInt("pad_token_id", 1));
    }

    /** DistilBERT: its own key names, Hugging Face {@code DistilBertConfig}'s fallbacks for absent ones. */
    private static TransformerConfig.Builder readDistilBert(Keys k) {
        k.require("sinusoidal_pos_embds", false, "Tessera builds learned position embeddings only");
        k.require("tie_weights_", true, "Tessera always ties vocab_projector to the word embedding");
        return TransformerConfig.builder(Architecture.DISTILBERT)
                .setVocabSize(k.requiredInt("vocab_size"))
                .setHiddenSize(k.requiredInt("dim"))
                .setNumLayers(k.requiredInt("n_layers"))
                .setNumHeads(k.requiredInt("n_heads"))
                .optIntermediateSize(k.requiredInt("hidden_dim"))
                .setMaxPositions(k.requiredInt("max_position_embeddings"))
                .optHiddenAct(k.activation("activation", Activation.GELU))
                .optHiddenDropout(k.optionalDouble("dropout", 0.1))
                .optAttentionDropout(k.optionalDouble("attention_dropout", 0.1))
                .optInitializerRange(k.optionalDouble("initializer_range", 0.02))
                .optPadTokenId(k.optionalInt("pad_token_id", 0));
    }

    /** ALBERT: BERT's keys with AlbertConfig's defaults, plus the factorisation and sharing keys. */
    private static TransformerConfig.Builder readAlbert(Keys k) {
        String positionType = k.optionalString("position_embedding_type", "absolute");
        if (!positionType.equals("absolute")) {
            throw new IllegalArgumentException("position_embedding_type = \"" + positionType
                    + "\" is not supported: Tessera builds learned absolute position embeddings only;"
                    + " use \"absolute\" (or remove the key)");
        }
        return TransformerConfig.builder(Architecture.ALBERT)
                .setVocabSize(k.requiredInt("vocab_size"))
                .setHiddenSize(k.requiredInt("hidden_size"))
                .setNumLayers(k.requiredInt("num_hidden_layers"))
                .setNumHeads(k.requiredInt("num_attention_heads"))
                .optIntermediateSize(k.requiredInt("intermediate_size"))
                .setMaxPositions(k.optionalInt("max_position_embeddings", 512))
                .optTypeVocabSize(k.optionalInt("type_vocab_size", 2))
                .optHiddenAct(k.activation("hidden_act", Activation.GELU_NEW))
                .optHiddenDropout(k.optionalDouble("hidden_dropout_prob", 0))
                .optAttentionDropout(k.optionalDouble("attention_probs_dropout_prob", 0))
                .optLayerNormEps(k.optionalDouble("layer_norm_eps", 1e-12))
                .optInitializerRange(k.optionalDouble("initializer_range", 0.02))
                .optAlbert(new AlbertShape(k.optionalInt("embedding_size", 128), k.optionalInt("num_hidden_groups", 1),
                        k.optionalInt("inner_group_num", 1), k.optionalDouble("classifier_dropout_prob", 0.1)));
    }

    private static TransformerConfig.Builder readGpt2(Keys k) {
        int hidden = k.requiredInt("n_embd");
        int positions = k.requiredInt("n_positions");
        if (k.has("n_ctx")) {
            int ctx = k.requiredInt("n_ctx");
            if (ctx != positions) {
                throw new IllegalArgumentException("n_ctx = " + ctx + " differs from n_positions = " + positions
                        + ": Tessera reads the context length from n_positions and needs the legacy n_ctx, when present,"
                        + " to agree; set both to the same value");
            }
        }
        double resid = k.optionalDouble("resid_pdrop", 0.1);
        double embd = k.optionalDouble("embd_pdrop", 0.1);
        if (Double.compare(resid, embd) != 0) {
            throw new IllegalArgumentException("embd_pdrop = " + embd + " differs from resid_pdrop = " + resid
                    + ": Tessera applies one hidden dropout to embeddings and sub-layer outputs;"
                    + " set both to the same value");
        }
        k.require("scale_attn_weights", true, "Tessera scales attention scores by 1/sqrt(head dim)");
        k.require("scale_attn_by_inverse_layer_idx", false, "Tessera does not scale attention by layer index");
        TransformerConfig.Builder b = TransformerConfig.builder(Architecture.GPT2)
                .setVocabSize(k.requiredInt("vocab_size"))
                .setHiddenSize(hidden)
                .setNumLayers(k.requiredInt("n_layer"))
                .setNumHeads(k.requiredInt("n_head"))
                .setMaxPositions(positions)
                .optHiddenAct(k.activation("activation_function", Activation.GELU_NEW))
                .optHiddenDropout(resid)
                .optAttentionDropout(k.optionalDouble("attn_pdrop", 0.1))
                .optLayerNormEps(k.optionalDouble("layer_norm_epsilon", 1e-5))
                .optInitializerRange(k.optionalDouble("initializer_range", 0.02));
        if (k.has("n_inner") && !k.isNull("n_inner")) {
            b.optIntermediateSize(k.requiredInt("n_inner"));
        }
        return b;
    }

    /**
     * Renders a configuration as Hugging Face {@code config.json} text (sorted keys, two-space indent,
     * trailing newline).
     *
     * @param config the configuration
     * @return the JSON text
     */
    public static String toJson(TransformerConfig config) {
        Objects.requireNonNull(config, "config");
        Map<String, JsonElement> m = new TreeMap<>();
        JsonArray architectures = new JsonArray();
        architectures.add(HfHeadJson.hfClassName(config));
        m.put("architectures", architectures);
        HfHeadJson.put(m, config);
        m.put("initializer_range", new JsonPrimitive(config.initializerRange()));
        m.put("vocab_size", new JsonPrimitive(config.vocabSize()));
        m.put(DIVISIBLE_BY_KEY, new JsonPrimitive(config.makeVocabSizeDivisibleBy()));
        if (config.architecture() == Architecture.BERT || config.architecture() == Architecture.ALBERT) {
            boolean albert = config.architecture() == Architecture.ALBERT;
            m.put("model_type", new JsonPrimitive(albert ? "albert" : config.preLayerNorm() ? "megatron-bert" : "bert"));
            m.put(PRE_LAYER_NORM_KEY, new JsonPrimitive(config.preLayerNorm()));
            if (albert) {
                m.put("embedding_size", new JsonPrimitive(config.albert().embeddingSize()));
                m.put("num_hidden_groups", new JsonPrimitive(config.albert().numHiddenGroups()));
                m.put("inner_group_num", new JsonPrimitive(config.albert().innerGroupNum()));
                m.put("classifier_dropout_prob", new JsonPrimitive(config.albert().classifierDropout()));
            }
            m.put("hidden_size", new JsonPrimitive(config.hiddenSize()));
            m.put("num_hidden_layers", new JsonPrimitive(config.numLayers()));
            m.put("num_attention_heads", new JsonPrimitive(config.numHeads()));
            m.put("intermediate_size", new JsonPrimitive(config.intermediateSize()));
            m.put("max_position_embeddings", new JsonPrimitive(config.maxPositions()));
            m.put("type_vocab_size", new JsonPrimitive(config.typeVocabSize()));
            m.put("hidden_act", new JsonPrimitive(config.hiddenAct().hfName()));
            m.put("hidden_dropout_prob", new JsonPrimitive(config.hiddenDropout()));
            m.put("attention_probs_dropout_prob", new JsonPrimitive(config.attentionDropout()));
            m.put("layer_norm_eps", new JsonPrimitive(config.layerNormEps()));
        } else if (config.architecture() == Architecture.ROBERTA) {
            putRoberta(m, config);
        } else if (config.architecture() == Architecture.DISTILBERT) {
            putDistilBert(m, config);
        } else {
            m.put("model_type", new JsonPrimitive("gpt2"));
            m.put("n_embd", new JsonPrimitive(config.hiddenSize()));
            m.put("n_layer", new JsonPrimitive(config.numLayers()));
            m.put("n_head", new JsonPrimitive(config.numHeads()));
            m.put("n_inner", config.intermediateSize() == 4 * config.hiddenSize()
                    ? JsonNull.INSTANCE : new JsonPrimitive(config.intermediateSize()));
            m.put("n_positions", new JsonPrimitive(config.maxPositions()));
            m.put("n_ctx", new JsonPrimitive(config.maxPositions()));
            m.put("activation_function", new JsonPrimitive(config.hiddenAct().hfName()));
            m.put("resid_pdrop", new JsonPrimitive(config.hiddenDropout()));
            m.put("embd_pdrop", new JsonPrimitive(config.hiddenDropout()));
            m.put("attn_pdrop", new JsonPrimitive(config.attentionDropout()));
            m.put("layer_norm_epsilon", new JsonPrimitive(config.layerNormEps()));
        }
        JsonObject o = new JsonObject();
        m.forEach(o::add);
        return GSON.toJson(o) + "\n";
    }

    private static void putRoberta(Map<String, JsonElement> m, TransformerConfig config) {
        m.put("model_type", new JsonPrimitive("roberta"));
        m.put("hidden_size", new JsonPrimitive(config.hiddenSize()));
        m.put("num_hidden_layers", new JsonPrimitive(config.numLayers()));
        m.put("num_attention_heads", new JsonPrimitive(config.numHeads()));
        m.put("intermediate_size", new JsonPrimitive(config.intermediateSize()));
        m.put("max_position_embeddings", new JsonPrimitive(config.maxPositions()));
        m.put("type_vocab_size", new JsonPrimitive(config.typeVocabSize()));
        m.put("hidden_act", new JsonPrimitive(config.hiddenAct().hfName()));
        m.put("hidden_dropout_prob", new JsonPrimitive(config.hiddenDropout()));
        m.put("attention_probs_dropout_prob", new JsonPrimitive(config.attentionDropout()));
        m.put("layer_norm_eps", new JsonPrimitive(config.layerNormEps()));
        m.put("pad_token_id", new JsonPrimitive(config.padTokenId()));
        m.put("position_embedding_type", new JsonPrimitive("absolute"));
    }

    private static void putDistilBert(Map<String, JsonElement> m, TransformerConfig config) {
        m.put("model_type", new JsonPrimitive("distilbert"));
        m.put("dim", new JsonPrimitive(config.hiddenSize()));
        m.put("n_layers", new JsonPrimitive(config.numLayers()));
        m.put("n_heads", new JsonPrimitive(config.numHeads()));
        m.put("hidden_dim", new JsonPrimitive(config.intermediateSize()));
        m.put("max_position_embeddings", new JsonPrimitive(config.maxPositions()));
        m.put("activation", new JsonPrimitive(config.hiddenAct().hfName()));
        m.put("dropout", new JsonPrimitive(config.hiddenDropout()));
        m.put("attention_dropout", new JsonPrimitive(config.attentionDropout()));
        m.put("sinusoidal_pos_embds", new JsonPrimitive(false));
        m.put("tie_weights_", new JsonPrimitive(true));
        m.put("pad_token_id", new JsonPrimitive(config.padTokenId()));
    }

    /**
     * Writes a configuration as Hugging Face {@code config.json}.
     *
     * @param config the configuration
     * @param path the file, or an existing directory to write {@value #FILE_NAME} into
     * @return the file written
     * @throws IOException if the file cannot be written
     */
    public static Path write(TransformerConfig config, Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        Files.writeString(file, toJson(config), StandardCharsets.UTF_8);
        return file;
    }

    private static String describe(JsonElement e) {
        if (e == null) {
            return "nothing";
        }
        if (e.isJsonNull()) {
            return "null";
        }
        if (e.isJsonObject()) {
            return "an object";
        }
        if (e.isJsonArray()) {
            return "an array " + e;
        }
        JsonPrimitive p = e.getAsJsonPrimitive();
        if (p.isString()) {
            return "the string " + p;
        }
        if (p.isBoolean()) {
            return "the boolean " + p;
        }
        return "the number " + p;
    }

    /** Typed access to the keys of one config object, with messages naming the key. */
    private static final class Keys {

        private final JsonObject o;

        Keys(JsonObject o) {
            this.o = o;
        }

        Architecture architecture(String modelType) {
            return switch (modelType) {
                case "roberta" -> Architecture.ROBERTA;
                case "distilbert" -> Architecture.DISTILBERT;
                case "gpt2" -> Architecture.GPT2;
                default -> Architecture.BERT;
            };
        }

        boolean has(String key) {
            return o.has(key);
        }

        boolean isNull(String key) {
            return o.get(key).isJsonNull();
        }

        private JsonElement present(String key, String what) {
            JsonElement e = o.get(key);
            if (e == null) {
                throw new IllegalArgumentException("key \"" + key + "\" is missing: it is required (" + what
                        + "); add it to config.json");
            }
            if (e.isJsonNull()) {
                throw new IllegalArgumentException("key \"" + key + "\" is null: it must be " + what
                        + "; give a value or remove the key");
            }
            return e;
        }

        String requiredString(String key) {
            JsonElement e = present(key, "a string");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw new IllegalArgumentException("key \"" + key + "\" must be a string, found " + describe(e));
            }
            return e.getAsString();
        }

        String optionalString(String key, String fallback) {
            return o.has(key) ? requiredString(key) : fallback;
        }

        int requiredInt(String key) {
            JsonElement e = present(key, "an integer");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new IllegalArgumentException("key \"" + key + "\" must be an integer, found " + describe(e)
                        + "; write it as a JSON number without quotes");
            }
            BigDecimal d = e.getAsBigDecimal();
            try {
                return d.intValueExact();
            } catch (ArithmeticException notInt) {
                throw new IllegalArgumentException("key \"" + key + "\" must be an integer in [" + Integer.MIN_VALUE
                        + ", " + Integer.MAX_VALUE + "], found " + describe(e), notInt);
            }
        }

        int optionalInt(String key, int fallback) {
            return o.has(key) ? requiredInt(key) : fallback;
        }

        double optionalDouble(String key, double fallback) {
            if (!o.has(key)) {
                return fallback;
            }
            JsonElement e = present(key, "a number");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new IllegalArgumentException("key \"" + key + "\" must be a number, found " + describe(e)
                        + "; write it as a JSON number without quotes");
            }
            return e.getAsDouble();
        }

        boolean optionalBoolean(String key, boolean fallback) {
            if (!o.has(key)) {
                return fallback;
            }
            JsonElement e = present(key, "true or false");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
                throw new IllegalArgumentException("key \"" + key + "\" must be true or false, found " + describe(e));
            }
            return e.getAsBoolean();
        }

        /** Checks that a boolean key, when present, has the only value Tessera supports. */
        void require(String key, boolean supported, String why) {
            if (o.has(key) && optionalBoolean(key, supported) != supported) {
                throw new IllegalArgumentException("key \"" + key + "\" = " + !supported + " is not supported: " + why
                        + "; set it to " + supported + " or remove it");
            }
        }

        Activation activation(String key, Activation fallback) {
            if (!o.has(key)) {
                return fallback;
            }
            String name = requiredString(key);
            try {
                return Activation.fromHfName(name);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("key \"" + key + "\": " + e.getMessage(), e);
            }
        }
    }
}
