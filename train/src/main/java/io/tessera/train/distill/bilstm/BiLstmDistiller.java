package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.optim.AdamW;
import io.tessera.optim.FlatRange;
import io.tessera.train.Evaluation;
import io.tessera.train.MetricsFile;
import io.tessera.train.RunFolder;
import io.tessera.train.finetune.ClassificationScore;
import io.tessera.train.finetune.LabelSet;
import io.tessera.train.finetune.LabeledSentence;
import io.tessera.train.finetune.TaskFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeSet;

/**
 * Task-specific distillation of a fine-tuned BERT-family sequence classifier into a
 * {@link BiLstmClassifier} (Tang et al., 2019), and the same student trained on gold labels alone
 * (the "without distillation" baseline), in one process.
 *
 * <pre>
 *   train.tsv ─▶ WordSplitter ─▶ PosLexicon ─▶ Augmentation.transferSet (originals + n_iter distinct copies, ≤ maxTransfer)
 *             ─▶ Teacher.logits (batched)  ─▶ WordVocabulary (min count, max size) ─▶ BiLstmStudent (seeded)
 *   each epoch: shuffled batches ─▶ DistillationLoss (α·CE on originals + (1 − α)·MSE to the teacher) ─▶ AdamW (constant lr, clip)
 *               dev accuracy / macro-F1 ({@link ClassificationScore}) ─▶ metrics.jsonl; a better accuracy exports out/model
 *   baseline (distill = false): the training sentences only, loss = CE against their gold labels
 *   at the end: the best student's and the teacher's dev throughput (sentences/s, same batch, same threads, dev order,
 *               from the raw text, after a warm-up; the two alternate for 5 rounds and each keeps its fastest pass)
 * </pre>
 *
 * <p>Everything that can be refused (an empty training file, a teacher that is not a sequence
 * classifier, the teacher's labels differing from the training file's, a dev label outside them, an
 * existing {@code --out}) is refused before anything is written.
 *
 * <p>Thread safety: one call of {@link #run} at a time.
 */
public final class BiLstmDistiller {

    /** The exported student's folder under {@code out}. */
    public static final String MODEL_DIR = "model";
    /** Transfer sentences the teacher labels between progress lines. */
    private static final int LABEL_CHUNK = 8192;
    /** Timed passes over dev per model; the fastest counts. */
    private static final int THROUGHPUT_ROUNDS = 5;

    /**
     * One epoch.
     *
     * @param epoch 1-based
     * @param trainLoss the mean batch loss
     * @param devAccuracy dev accuracy after it
     * @param devMacroF1 dev macro-F1 after it
     * @param seconds its training time
     */
    public record Epoch(int epoch, double trainLoss, double devAccuracy, double devMacroF1, double seconds) {}

    /**
     * What a run produced.
     *
     * @param epochs every epoch, in order
     * @param best the epoch whose student was exported
     * @param exported {@code out/model}
     * @param transferSize sentences trained on per epoch
     * @param studentParameters the student's parameter count
     * @param teacherParameters the teacher's, or -1 without a teacher
     * @param teacherDevAccuracy the teacher's dev accuracy, NaN without a teacher
     * @param studentSentencesPerSecond the best student's dev throughput
     * @param teacherSentencesPerSecond the teacher's, NaN without a teacher
     */
    public record Result(List<Epoch> epochs, Epoch best, Path exported, int transferSize, long studentParameters,
            long teacherParameters, double teacherDevAccuracy, double studentSentencesPerSecond, double teacherSentencesPerSecond) {}

    private final BiLstmDistillConfig cfg;
    private final PrintStream log;
    private final Compute compute;

    /**
     * @param cfg the run
     * @param log where progress goes
     * @param compute the teacher's GEMM strategy
     */
    public BiLstmDistiller(BiLstmDistillConfig cfg, PrintStream log, Compute compute) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.log = Objects.requireNonNull(log, "log");
        this.compute = Objects.requireNonNull(compute, "compute");
    }

    /**
     * Runs the distillation (or the baseline).
     *
     * @return the epochs, the exported student and the comparison with the teacher
     * @throws IOException on file or model I/O failures
     * @throws IllegalArgumentException for bad input, before anything is written
     */
    public Result run() throws IOException {
        List<LabeledSentence> train = readLabelled(cfg.train(), "--train");
        List<LabeledSentence> dev = readLabelled(cfg.dev(), "--dev");
        LabelSet labels = cfg.teacher() != null ? teacherLabels(train) : LabelSet.fromData(train.stream().map(LabeledSentence::label).toList());
        int[] trainGold = gold(train, labels, cfg.train());
        int[] devGold = gold(dev, labels, cfg.dev());
        try (NDManager manager = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false);
             Teacher teacher = cfg.teacher() != null ? Teacher.load(cfg.teacher(), manager, compute, cfg.batchSize()) : null) {
            RunFolder.prepare(cfg.out(), false, cfg.overwrite(), true); // only once the teacher has loaded
            List<List<String>> originals = train.stream().map(r -> WordSplitter.split(r.text())).toList();
            List<List<String>> devWords = dev.stream().map(r -> WordSplitter.split(r.text())).toList();
            List<List<String>> transfer = cfg.distill()
                    ? cfg.augmentation().transferSet(originals, PosLexicon.build(originals), cfg.maxTransfer(), cfg.seed()) : originals;
            WordVocabulary vocabulary = WordVocabulary.build(transfer, cfg.minCount(), cfg.maxVocab());
            log.printf("%s: %d training sentences, transfer set %d, vocabulary %d words, %d dev sentences, labels %s%n",
                    cfg.distill() ? "distilling " + cfg.teacher() + " into a BiLSTM" : "training the BiLSTM on gold labels (no distillation)",
                    train.size(), transfer.size(), vocabulary.size(), dev.size(), labels.labels());
            float[][] targets = cfg.distill() ? label(teacher, train, transfer) : null;
            BiLstmShape shape = new BiLstmShape(vocabulary.size(), cfg.embeddingDim(), cfg.hiddenSize(), cfg.mlpSize(), labels);
            List<Epoch> epochs = train(shape, vocabulary, transfer, targets, trainGold, devWords, devGold, manager);
            Epoch best = epochs.stream().max((a, b) -> Double.compare(a.devAccuracy(), b.devAccuracy())).orElseThrow();
            return compare(epochs, best, cfg.out().resolve(MODEL_DIR), transfer.size(), teacher, dev, devWords, devGold, manager);
        }
    }

    private List<Epoch> train(BiLstmShape shape, WordVocabulary vocabulary, List<List<String>> transfer, float[][] targets,
            int[] trainGold, List<List<String>> devWords, int[] devGold, NDManager manager) throws IOException {
        DistillationLoss loss = new DistillationLoss(cfg.alpha(), cfg.distill());
        List<Epoch> epochs = new ArrayList<>();
        MetricsFile metrics = new MetricsFile(cfg.out().resolve("metrics.jsonl"));
        try (BiLstmStudent student = BiLstmStudent.create(shape, vocabulary, cfg.seed(), manager, true);
             AdamW adam = new AdamW(AdamW.Config.builder().weightDecay(0).build(), FlatRange.of(student.buffer()), manager)) {
            log.printf("student: %s, %,d parameters%n", student, student.parameterCount());
            BiLstmPredictor predictor = new BiLstmPredictor(student, cfg.batchSize());
            List<int[]> ids = transfer.stream().map(vocabulary::ids).toList();
            int k = shape.numLabels();
            double bestAccuracy = -1;
            for (int e = 1; e <= cfg.epochs(); e++) {
                long t0 = System.nanoTime();
                List<Integer> order = new ArrayList<>(transfer.size());
                for (int i = 0; i < transfer.size(); i++) {
                    order.add(i);
                }
                Collections.shuffle(order, new Random(cfg.seed() * 31 + e));
                double sum = 0;
                int steps = 0;
                for (int from = 0; from < order.size(); from += cfg.batchSize()) {
                    List<Integer> rows = order.subList(from, Math.min(order.size(), from + cfg.batchSize()));
                    List<int[]> batch = new ArrayList<>(rows.size());
                    float[] teacher = targets == null ? null : new float[rows.size() * k];
                    int[] gold = new int[rows.size()];
                    for (int r = 0; r < rows.size(); r++) {
                        int i = rows.get(r);
                        batch.add(ids.get(i));
                        gold[r] = i < trainGold.length ? trainGold[i] : DistillationLoss.NO_LABEL;
                        if (teacher != null) {
                            System.arraycopy(targets[i], 0, teacher, r * k, k);
                        }
                    }
                    try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, cfg.seed() + steps, true)) {
                        Var l = loss.apply(tape, student.model().logits(tape, WordBatch.of(batch)), teacher, gold);
                        tape.backward(l);
                        sum += l.value().getFloat();
                    }
                    clip(student.buffer().grads());
                    adam.step(student.buffer().params(), student.buffer().grads(), cfg.lr());
                    student.buffer().zeroGrad();
                    steps++;
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                ClassificationScore score = score(predictor.predict(devWords, manager), devGold, k);
                Epoch epoch = new Epoch(e, sum / steps, score.accuracy(), score.macroF1(), seconds);
                epochs.add(epoch);
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("epoch", (double) e);
                m.put("train_loss", epoch.trainLoss());
                m.put("accuracy", epoch.devAccuracy());
                m.put("macro_f1", epoch.devMacroF1());
                m.put("epoch_s", seconds);
                metrics.onEvaluation(new Evaluation(e, epoch.trainLoss(), Map.of(), Map.of(), Double.NaN, m));
                boolean better = epoch.devAccuracy() > bestAccuracy;
                if (better) {
                    bestAccuracy = epoch.devAccuracy();
                    student.save(cfg.out().resolve(MODEL_DIR));
                }
                log.printf("epoch %d/%d: train loss %.4f, dev accuracy %.4f, macro-F1 %.4f (%.1f s)%s%n", e, cfg.epochs(),
                        epoch.trainLoss(), epoch.devAccuracy(), epoch.devMacroF1(), seconds, better ? ", best so far: exported" : "");
            }
        } finally {
            metrics.onEnd();
        }
        return epochs;
    }

    /** Scales the gradients so that their global L2 norm is at most {@code maxGradNorm}. */
    private void clip(NDArray grads) {
        if (cfg.maxGradNorm() > 0) {
            double norm = Math.sqrt(grads.square().sum().getFloat());
            if (norm > cfg.maxGradNorm()) {
                grads.muli((float) (cfg.maxGradNorm() / norm));
            }
        }
    }

    /** The teacher's logits of every transfer sentence (the originals' own text, the copies' words joined by spaces). */
    private float[][] label(Teacher teacher, List<LabeledSentence> train, List<List<String>> transfer) {
        long t0 = System.nanoTime();
        float[][] out = new float[transfer.size()][];
        for (int from = 0; from < transfer.size(); from += LABEL_CHUNK) {
            int to = Math.min(transfer.size(), from + LABEL_CHUNK);
            List<String> texts = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                texts.add(i < train.size() ? train.get(i).text() : String.join(" ", transfer.get(i)));
            }
            List<float[]> logits = teacher.logits(texts, true);
            for (int i = from; i < to; i++) {
                out[i] = logits.get(i - from);
            }
            log.printf("teacher labelled %d/%d transfer sentences (%.0f s)%n", to, transfer.size(), (System.nanoTime() - t0) / 1e9);
        }
        return out;
    }

    private Result compare(List<Epoch> epochs, Epoch best, Path exported, int transferSize, Teacher teacher, List<LabeledSentence> dev,
            List<List<String>> devWords, int[] devGold, NDManager manager) throws IOException {
        try (BiLstmStudent student = BiLstmStudent.load(exported, manager)) {
            BiLstmPredictor predictor = new BiLstmPredictor(student, cfg.batchSize());
            long studentParameters = student.parameterCount();
            List<String> texts = dev.stream().map(LabeledSentence::text).toList();
            // Alternate the two models and keep each one's fastest pass, so that a busy machine slows both alike.
            double studentRate = 0;
            double teacherRate = Double.NaN;
            int[] teacherPredicted = null;
            predictor.logits(devWords, manager); // warm-up
            for (int round = 0; round < THROUGHPUT_ROUNDS; round++) {
                // Both measurements start from the raw text: the student's includes word splitting, as the
                // teacher's includes its tokenizer.
                long t0 = System.nanoTime();
                predictor.logits(texts.stream().map(WordSplitter::split).toList(), manager);
                studentRate = Math.max(studentRate, texts.size() / ((System.nanoTime() - t0) / 1e9));
                if (teacher != null) {
                    t0 = System.nanoTime();
                    teacherPredicted = BiLstmPredictor.argMax(teacher.logits(texts));
                    double rate = texts.size() / ((System.nanoTime() - t0) / 1e9);
                    teacherRate = round == 0 ? rate : Math.max(teacherRate, rate);
                }
            }
            log.printf("best dev accuracy %.4f (epoch %d); student %,d parameters, %.0f sentences/s on dev (batch %d, %d threads)%n",
                    best.devAccuracy(), best.epoch(), studentParameters, studentRate, cfg.batchSize(), Torch.threads());
            if (teacher == null) {
                return new Result(epochs, best, exported, transferSize, studentParameters, -1, Double.NaN, studentRate, Double.NaN);
            }
            double teacherAccuracy = score(teacherPredicted, devGold, teacher.labels().size()).accuracy();
            log.printf("teacher %s: dev accuracy %.4f, %,d parameters, %.0f sentences/s on dev%n", teacher.dir(), teacherAccuracy,
                    teacher.parameterCount(), teacherRate);
            log.printf("student / teacher: %.1f× fewer parameters, %.1f× the throughput; dev accuracy %+.4f%n",
                    (double) teacher.parameterCount() / studentParameters, studentRate / teacherRate, best.devAccuracy() - teacherAccuracy);
            return new Result(epochs, best, exported, transferSize, studentParameters, teacher.parameterCount(), teacherAccuracy,
                    studentRate, teacherRate);
        }
    }

    /** The teacher's labels, which must be exactly the training file's. */
    private LabelSet teacherLabels(List<LabeledSentence> train) throws IOException {
        LabelSet teacher = LabelSet.of(Teacher.check(cfg.teacher()).head().labels());
        TreeSet<String> seen = new TreeSet<>(train.stream().map(LabeledSentence::label).toList());
        if (!seen.equals(new TreeSet<>(teacher.labels()))) {
            throw new IllegalArgumentException("--teacher " + cfg.teacher() + " has the labels " + teacher.labels() + " (id2label in its"
                    + " config.json) but --train " + cfg.train() + " has " + seen + "; distil with a teacher fine-tuned on this task's"
                    + " training file, or pass its training file");
        }
        return teacher;
    }

    private static List<LabeledSentence> readLabelled(Path file, String flag) throws IOException {
        if (Files.isRegularFile(file) && Files.readAllLines(file, StandardCharsets.UTF_8).stream().allMatch(String::isBlank)) {
            throw new IllegalArgumentException(flag + " " + file + " is empty; give a TSV with a 'sentence<TAB>label' header and at least"
                    + " one row (e.g. the shipped data/sst-2/train.tsv)");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(flag + " " + file + " does not exist or is not a file");
        }
        return TaskFiles.readTsv(file, true);
    }

    private static int[] gold(List<LabeledSentence> rows, LabelSet labels, Path file) {
        int[] out = new int[rows.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = labels.id(rows.get(i).label(), file + " line " + rows.get(i).line());
        }
        return out;
    }

    private static ClassificationScore score(int[] predicted, int[] gold, int classes) {
        ClassificationScore s = new ClassificationScore(classes);
        for (int i = 0; i < gold.length; i++) {
            s.add(gold[i], predicted[i]);
        }
        return s;
    }
}
