package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Tensors;
import io.tessera.core.io.AtomicFiles;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.train.RunFolder;
import io.tessera.train.finetune.LabelSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * A BiLSTM student with its storage and word vocabulary: what {@link BiLstmDistiller} trains and
 * exports, and what prediction loads. The directory format is described in the package
 * documentation ({@code config.json}, {@code model.safetensors}, {@code vocab.txt}).
 *
 * <p>Thread safety: not thread-safe; one thread uses a student. Owns its parameter buffer: close it.
 */
public final class BiLstmStudent implements AutoCloseable {

    /** {@code architectures[0]} of a student's {@code config.json}. */
    public static final String ARCHITECTURE = "BiLstmForSequenceClassification";
    /** The weights file. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The configuration file. */
    public static final String CONFIG_FILE = "config.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private final BiLstmClassifier model;
    private final ParameterBuffer buffer;
    private final WordVocabulary vocabulary;

    private BiLstmStudent(BiLstmClassifier model, ParameterBuffer buffer, WordVocabulary vocabulary) {
        this.model = model;
        this.buffer = buffer;
        this.vocabulary = vocabulary;
    }

    /**
     * A freshly initialised student.
     *
     * @param shape its sizes (the vocabulary size must be the vocabulary's)
     * @param vocabulary its words
     * @param seed the initialisation seed
     * @param manager owner of the parameter buffer
     * @param withGradients whether to allocate gradients (training)
     * @return the student
     */
    public static BiLstmStudent create(BiLstmShape shape, WordVocabulary vocabulary, long seed, NDManager manager, boolean withGradients) {
        if (shape.vocabSize() != vocabulary.size()) {
            throw new IllegalArgumentException("vocabSize = " + shape.vocabSize() + " but the vocabulary has " + vocabulary.size()
                    + " words; build the shape from the vocabulary");
        }
        BiLstmClassifier model = new BiLstmClassifier(shape);
        return new BiLstmStudent(model, ParameterBuffer.allocate(model, seed, manager, withGradients), vocabulary);
    }

    /**
     * @param dir a directory a student was saved to
     * @return whether its {@code config.json} names {@link #ARCHITECTURE}
     * @throws IOException if an existing config.json cannot be read
     */
    public static boolean isStudent(Path dir) throws IOException {
        Path config = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(config)) {
            return false;
        }
        JsonElement e = JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8));
        if (!e.isJsonObject() || !e.getAsJsonObject().has("architectures")) {
            return false;
        }
        JsonArray a = e.getAsJsonObject().getAsJsonArray("architectures");
        return a.size() == 1 && ARCHITECTURE.equals(a.get(0).getAsString());
    }

    /**
     * Loads a saved student.
     *
     * @param dir the directory
     * @param manager owner of the parameter buffer
     * @return the student, without gradients
     * @throws IOException if a file cannot be read
     * @throws IllegalArgumentException if a file is missing or disagrees with config.json
     */
    public static BiLstmStudent load(Path dir, NDManager manager) throws IOException {
        for (String f : List.of(CONFIG_FILE, WEIGHTS_FILE, WordVocabulary.FILE_NAME)) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new IllegalArgumentException(dir + " has no " + f + "; a BiLSTM student directory holds " + CONFIG_FILE + ", "
                        + WEIGHTS_FILE + " and " + WordVocabulary.FILE_NAME + " (tessera distill bilstm writes OUT/model)");
            }
        }
        BiLstmShape shape = readShape(dir.resolve(CONFIG_FILE));
        WordVocabulary vocabulary = WordVocabulary.read(dir.resolve(WordVocabulary.FILE_NAME));
        if (vocabulary.size() != shape.vocabSize()) {
            throw new IllegalArgumentException(dir.resolve(WordVocabulary.FILE_NAME) + " has " + vocabulary.size() + " words but "
                    + CONFIG_FILE + " says vocab_size " + shape.vocabSize() + "; the two files come from different exports");
        }
        BiLstmStudent s = create(shape, vocabulary, 0, manager, false);
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> tensors = Safetensors.load(dir.resolve(WEIGHTS_FILE), m);
            Map<String, Parameter> params = s.model.namedParameters();
            if (!tensors.keySet().equals(params.keySet())) {
                s.close();
                throw new IllegalArgumentException(dir.resolve(WEIGHTS_FILE) + " holds " + tensors.keySet() + " but a BiLSTM student"
                        + " has " + params.keySet());
            }
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                Tensors.copyInto(e.getValue().data(), tensors.get(e.getKey()));
            }
        }
        return s;
    }

    /**
     * Writes the student to {@code dir}, replacing what is there only once the new directory is
     * complete.
     *
     * @param dir the target directory
     * @throws IOException if writing fails
     */
    public void save(Path dir) throws IOException {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".writing");
        if (Files.exists(tmp)) { // left by an interrupted save
            try (Stream<Path> walk = Files.walk(tmp)) {
                for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(q);
                }
            }
        }
        Files.createDirectories(tmp);
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> tensors.put(name, p.data()));
        Safetensors.save(tensors, tmp.resolve(WEIGHTS_FILE));
        AtomicFiles.write(tmp.resolve(CONFIG_FILE), GSON.toJson(configJson(model.shape())).getBytes(StandardCharsets.UTF_8));
        vocabulary.write(tmp.resolve(WordVocabulary.FILE_NAME));
        RunFolder.replace(tmp, dir);
    }

    static JsonObject configJson(BiLstmShape s) {
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add(ARCHITECTURE);
        c.add("architectures", arch);
        c.addProperty("model_type", "tessera-bilstm");
        c.addProperty("vocab_size", s.vocabSize());
        c.addProperty("embedding_dim", s.embeddingDim());
        c.addProperty("hidden_size", s.hiddenSize());
        c.addProperty("mlp_size", s.mlpSize());
        c.addProperty("num_labels", s.numLabels());
        JsonObject id2label = new JsonObject();
        JsonObject label2id = new JsonObject();
        for (int i = 0; i < s.numLabels(); i++) {
            id2label.addProperty(Integer.toString(i), s.labels().label(i));
            label2id.addProperty(s.labels().label(i), i);
        }
        c.add("id2label", id2label);
        c.add("label2id", label2id);
        c.addProperty("word_splitter", "lowercase, white space and punctuation (WordSplitter)");
        return c;
    }

    static BiLstmShape readShape(Path file) throws IOException {
        JsonObject c = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        for (String key : List.of("vocab_size", "embedding_dim", "hidden_size", "mlp_size", "id2label")) {
            if (!c.has(key)) {
                throw new IllegalArgumentException(file + " has no \"" + key + "\"; a BiLSTM student's config.json records vocab_size,"
                        + " embedding_dim, hidden_size, mlp_size and id2label");
            }
        }
        JsonObject id2label = c.getAsJsonObject("id2label");
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < id2label.size(); i++) {
            JsonElement l = id2label.get(Integer.toString(i));
            if (l == null) {
                throw new IllegalArgumentException(file + ": id2label " + id2label + " lacks id " + i + "; ids must run 0.." + (id2label.size() - 1));
            }
            labels.add(l.getAsString());
        }
        return new BiLstmShape(c.get("vocab_size").getAsInt(), c.get("embedding_dim").getAsInt(), c.get("hidden_size").getAsInt(),
                c.get("mlp_size").getAsInt(), LabelSet.of(labels));
    }

    /** @return the model */
    public BiLstmClassifier model() {
        return model;
    }

    /** @return the parameter (and gradient) storage */
    public ParameterBuffer buffer() {
        return buffer;
    }

    /** @return the word vocabulary */
    public WordVocabulary vocabulary() {
        return vocabulary;
    }

    /** @return the number of trainable scalars */
    public long parameterCount() {
        return buffer.numel();
    }

    @Override
    public void close() {
        buffer.close();
    }

    @Override
    public String toString() {
        BiLstmShape s = model.shape();
        return String.format(Locale.ROOT, "%s(V=%d, E=%d, H=%d, M=%d, K=%d)", ARCHITECTURE, s.vocabSize(), s.embeddingDim(),
                s.hiddenSize(), s.mlpSize(), s.numLabels());
    }
}
