package io.tessera.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.io.Safetensors;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.train.data.HfTokenizerFiles;
import io.tessera.train.data.WordPieceTokenizerJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A DistilBERT student initialised from its teacher's layers, as Sanh et al. (2019) initialise
 * DistilBERT from BERT: the student has the teacher's width and takes every other layer.
 *
 * <pre>
 *   student layer j  ←  teacher layer ⌊j · L_t / L_s⌋            L_s = L_t / 2: layers 0, 2, 4, … (the even ones)
 *   word embedding, embedding LayerNorm, masked-LM head  ←  the teacher's
 *   position embedding  ←  position + token_type[0]              (BERT teacher: DistilBERT has no token types;
 *                                                                  folding segment 0 in keeps the embedding output
 *                                                                  of single-segment input exact)
 * </pre>
 *
 * <p>Names: BERT's {@code bert.encoder.layer.N.attention.self.{query,key,value}},
 * {@code attention.output.dense}, {@code attention.output.LayerNorm}, {@code intermediate.dense},
 * {@code output.dense}, {@code output.LayerNorm} become DistilBERT's
 * {@code distilbert.transformer.layer.j.attention.{q,k,v}_lin}, {@code attention.out_lin},
 * {@code sa_layer_norm}, {@code ffn.lin1}, {@code ffn.lin2}, {@code output_layer_norm};
 * {@code cls.predictions.{transform.dense, transform.LayerNorm, bias}} become
 * {@code vocab_transform}, {@code vocab_layer_norm}, {@code vocab_projector.bias}. The pooler and the
 * next-sentence head are dropped. A DistilBERT teacher maps name for name. Both layouts are post-LN
 * with the same sub-layer order, so a student given all the teacher's layers computes the teacher's
 * masked-LM logits (checked by a test).
 *
 * <p>Thread safety: stateless.
 */
public final class DistilBertStudent {

    private static final Map<String, String> BERT_LAYER = new LinkedHashMap<>();

    static {
        BERT_LAYER.put("attention.self.query", "attention.q_lin");
        BERT_LAYER.put("attention.self.key", "attention.k_lin");
        BERT_LAYER.put("attention.self.value", "attention.v_lin");
        BERT_LAYER.put("attention.output.dense", "attention.out_lin");
        BERT_LAYER.put("attention.output.LayerNorm", "sa_layer_norm");
        BERT_LAYER.put("intermediate.dense", "ffn.lin1");
        BERT_LAYER.put("output.dense", "ffn.lin2");
        BERT_LAYER.put("output.LayerNorm", "output_layer_norm");
    }

    private DistilBertStudent() {}

    /**
     * The student's configuration: DistilBERT of the teacher's width, heads, feed-forward size,
     * vocabulary, positions, activation, dropout and initialiser, with {@code layers} layers and the
     * masked-LM head.
     *
     * @param teacher the teacher's configuration (BERT, post-LN, or DistilBERT)
     * @param layers the student's layers, 1 to the teacher's
     * @return the student's configuration
     * @throws IllegalArgumentException if the teacher is of another family or pre-LN, or {@code layers}
     *     is out of range, naming the value and the fix
     */
    public static TransformerConfig config(TransformerConfig teacher, int layers) {
        checkTeacher(teacher);
        if (layers < 1 || layers > teacher.numLayers()) {
            throw new IllegalArgumentException("--student-layers " + layers + ": a student initialised from its teacher's layers has"
                    + " 1 to " + teacher.numLayers() + " layers (the teacher has " + teacher.numLayers() + "); the usual choice is half, "
                    + Math.max(1, teacher.numLayers() / 2));
        }
        if (teacher.layerNormEps() != TransformerConfig.DISTILBERT_LAYER_NORM_EPS) {
            throw new IllegalArgumentException("the teacher's layer_norm_eps is " + teacher.layerNormEps() + ", DistilBERT's is fixed at "
                    + TransformerConfig.DISTILBERT_LAYER_NORM_EPS + "; initialising from its layers would change their outputs");
        }
        return TransformerConfig.builder(Architecture.DISTILBERT).setVocabSize(teacher.vocabSize()).setHiddenSize(teacher.hiddenSize())
                .setNumLayers(layers).setNumHeads(teacher.numHeads()).setMaxPositions(teacher.maxPositions())
                .optIntermediateSize(teacher.intermediateSize()).optHiddenAct(teacher.hiddenAct())
                .optHiddenDropout(teacher.hiddenDropout()).optAttentionDropout(teacher.attentionDropout())
                .optInitializerRange(teacher.initializerRange()).optPadTokenId(teacher.padTokenId())
                .optMakeVocabSizeDivisibleBy(teacher.makeVocabSizeDivisibleBy()).build();
    }

    /**
     * Which teacher layer each student layer starts from.
     *
     * @param teacherLayers L_t
     * @param studentLayers L_s, 1 to L_t
     * @return {@code ⌊j · L_t / L_s⌋} for j in 0..L_s−1
     */
    public static int[] sourceLayers(int teacherLayers, int studentLayers) {
        int[] out = new int[studentLayers];
        for (int j = 0; j < studentLayers; j++) {
            out[j] = (int) ((long) j * teacherLayers / studentLayers);
        }
        return out;
    }

    /**
     * The student's tensors under DistilBERT's names, from a teacher checkpoint's.
     *
     * @param teacher the teacher's tensors by Hugging Face name (with or without the base prefix; not modified)
     * @param teacherConfig its configuration
     * @param layers the student's layers
     * @return student name → tensor (new arrays, in the teacher tensors' manager)
     * @throws IllegalArgumentException if the teacher lacks a tensor the student needs, naming it
     */
    public static Map<String, NDArray> tensors(Map<String, NDArray> teacher, TransformerConfig teacherConfig, int layers) {
        config(teacherConfig, layers); // checks
        boolean bert = teacherConfig.architecture() == Architecture.BERT;
        String base = bert ? "bert." : "distilbert.";
        String body = bert ? "encoder.layer." : "transformer.layer.";
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("distilbert.embeddings.word_embeddings.weight", get(teacher, base, "embeddings.word_embeddings.weight").duplicate());
        NDArray positions = get(teacher, base, "embeddings.position_embeddings.weight");
        out.put("distilbert.embeddings.position_embeddings.weight", bert
                ? positions.add(get(teacher, base, "embeddings.token_type_embeddings.weight").get(0)) : positions.duplicate());
        for (String p : List.of("weight", "bias")) {
            out.put("distilbert.embeddings.LayerNorm." + p, get(teacher, base, "embeddings.LayerNorm." + p).duplicate());
        }
        int[] source = sourceLayers(teacherConfig.numLayers(), layers);
        for (int j = 0; j < layers; j++) {
            for (Map.Entry<String, String> sub : BERT_LAYER.entrySet()) {
                String from = body + source[j] + "." + (bert ? sub.getKey() : sub.getValue());
                for (String p : List.of("weight", "bias")) {
                    out.put("distilbert.transformer.layer." + j + "." + sub.getValue() + "." + p, get(teacher, base, from + "." + p).duplicate());
                }
            }
        }
        for (String p : List.of("weight", "bias")) {
            out.put("vocab_transform." + p, get(teacher, "", (bert ? "cls.predictions.transform.dense." : "vocab_transform.") + p).duplicate());
            out.put("vocab_layer_norm." + p, get(teacher, "", (bert ? "cls.predictions.transform.LayerNorm." : "vocab_layer_norm.") + p).duplicate());
        }
        out.put("vocab_projector.bias", get(teacher, "", bert ? "cls.predictions.bias" : "vocab_projector.bias").duplicate());
        return out;
    }

    /**
     * Writes the student as a Hugging Face {@code DistilBertForMaskedLM} directory: {@code config.json},
     * {@code model.safetensors} and the teacher's tokenizer files.
     *
     * @param teacherDir a pre-training (masked-LM) export of BERT or DistilBERT, with its tokenizer
     * @param studentDir the directory to write (created)
     * @param layers the student's layers
     * @param manager scope of the temporaries
     * @return the student's configuration
     * @throws IOException if reading or writing fails
     * @throws IllegalArgumentException if the teacher cannot seed a DistilBERT student, naming why
     */
    public static TransformerConfig write(Path teacherDir, Path studentDir, int layers, NDManager manager) throws IOException {
        TransformerConfig teacher = readTeacher(teacherDir);
        TransformerConfig student = config(teacher, layers);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = tensors(Safetensors.load(teacherDir.resolve(HfCheckpoint.WEIGHTS_FILE), scope), teacher, layers);
            Files.createDirectories(studentDir);
            Safetensors.save(tensors, studentDir.resolve(HfCheckpoint.WEIGHTS_FILE));
        }
        HfConfigJson.write(student, studentDir.resolve(HfConfigJson.FILE_NAME));
        for (String name : List.of(HfTokenizerFiles.VOCAB_FILE, HfTokenizerFiles.CONFIG_FILE, HfTokenizerFiles.SPECIAL_TOKENS_FILE,
                WordPieceTokenizerJson.FILE)) {
            Path f = teacherDir.resolve(name);
            if (Files.isRegularFile(f)) {
                Files.copy(f, studentDir.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return student;
    }

    /**
     * Reads and checks a teacher directory's configuration.
     *
     * @param teacherDir the teacher's Hugging Face directory
     * @return its configuration
     * @throws IOException if config.json cannot be read
     * @throws IllegalArgumentException if it is no masked-LM BERT or DistilBERT, or has no vocabulary
     */
    public static TransformerConfig readTeacher(Path teacherDir) throws IOException {
        if (!Files.isRegularFile(teacherDir.resolve(HfConfigJson.FILE_NAME))) {
            throw new IllegalArgumentException("--teacher " + teacherDir + " has no " + HfConfigJson.FILE_NAME + "; point it at a Hugging Face"
                    + " model directory (pretrain exports one to OUT/model)");
        }
        TransformerConfig teacher = HfConfigJson.read(teacherDir);
        checkTeacher(teacher);
        if (!Files.isRegularFile(teacherDir.resolve(HfTokenizerFiles.VOCAB_FILE))) {
            throw new IllegalArgumentException("--teacher " + teacherDir + " has no " + HfTokenizerFiles.VOCAB_FILE + "; the student reads"
                    + " the teacher's WordPiece vocabulary (pretrain's export writes it)");
        }
        return teacher;
    }

    private static void checkTeacher(TransformerConfig teacher) {
        if (teacher.head().task() != HeadConfig.Task.PRETRAINING) {
            throw new IllegalArgumentException("the teacher has a " + teacher.head().task() + " head; DistilBERT distillation needs the"
                    + " teacher's masked-LM head: pass the pre-training export (pretrain's OUT/model), not a fine-tuned task model");
        }
        if (teacher.architecture() != Architecture.BERT && teacher.architecture() != Architecture.DISTILBERT) {
            throw new IllegalArgumentException("the teacher is " + teacher.architecture() + "; a DistilBERT student is initialised from a"
                    + " BERT or DistilBERT teacher's layers");
        }
        if (teacher.preLayerNorm()) {
            throw new IllegalArgumentException("the teacher is pre-LN (Megatron-BERT); DistilBERT's layers are post-LN, so its layers"
                    + " cannot be copied into them");
        }
    }

    private static NDArray get(Map<String, NDArray> tensors, String base, String name) {
        NDArray t = tensors.get(base + name);
        if (t == null) {
            t = tensors.get(name);
        }
        if (t == null) {
            throw new IllegalArgumentException("the teacher checkpoint has no tensor " + base + name + "; is it a complete pre-training export?");
        }
        return t;
    }
}
