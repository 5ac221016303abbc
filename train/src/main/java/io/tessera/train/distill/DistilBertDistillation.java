package io.tessera.train.distill;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.MaskedLanguageModel;
import io.tessera.models.MaskedLmForward;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.train.BatchTensors;
import io.tessera.train.Task;
import io.tessera.train.TrainConfig;
import io.tessera.train.TrainingObjective;
import io.tessera.train.TrainingRecipe;
import io.tessera.train.data.HfTokenizerFiles;
import io.tessera.train.finetune.ModelTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * DistilBERT's recipe (Sanh et al., 2019) as a {@link TrainingRecipe} of the {@code Trainer}: a
 * DistilBERT student with half its teacher's layers, initialised from every other teacher layer
 * ({@link DistilBertStudent}), trained on masked-LM packs of full sentences with the triple loss
 * ({@link DistillationObjective}) while the teacher runs forward only.
 *
 * <pre>{@code
 * TrainConfig cfg = DistilBertDistillation.configure(TrainConfig.builder().setDataDir(data).setOut(out).optSteps(1000),
 *         teacherDir, teacherDir, 0).build();                                        // student config, vocabulary, casing
 * new Trainer(cfg, ctx, System.out).withRecipe(new DistilBertDistillation(teacherDir, null, DistillationLoss.PAPER, 1)).run();
 * }</pre>
 *
 * <p>Everything of pretraining holds: any TP/DP/ZeRO layout of the student, checkpoints and resume (a
 * resumed run reads the student from its checkpoint and the teacher again from its directory),
 * held-out evaluation of the student's masked LM, export of the student to {@code OUT/model}. The
 * student's starting weights are kept in {@code OUT/student-init}.
 *
 * <p>The teacher is allocated on every rank without gradient buffers or optimizer state, at tensor
 * degree 1 (a whole replica per rank) or at the student's degree (split over the student's tensor
 * group, which holds one batch); other degrees would need their own groups and are refused.
 *
 * <p>Thread safety: one instance per rank; ranks may be threads of one JVM.
 */
public final class DistilBertDistillation implements TrainingRecipe {

    /** The folder under the run's output where the student's starting weights are written. */
    public static final String STUDENT_INIT = "student-init";

    private final Path teacherDir;
    private final Path studentDir;
    private final DistillationLoss loss;
    private final int teacherTensorParallel;
    private ParameterBuffer teacherParams;

    /**
     * @param teacherDir the teacher: a BERT or DistilBERT pre-training export with its vocabulary
     * @param studentDir a DistilBERT student directory to start from instead of the teacher's layers, or null
     * @param loss the triple loss's weights and temperature
     * @param teacherTensorParallel the teacher's tensor degree: 1, or the student's (0: the student's)
     */
    public DistilBertDistillation(Path teacherDir, Path studentDir, DistillationLoss loss, int teacherTensorParallel) {
        this.teacherDir = Objects.requireNonNull(teacherDir, "teacherDir");
        this.studentDir = studentDir;
        this.loss = Objects.requireNonNull(loss, "loss");
        if (teacherTensorParallel < 0) {
            throw new IllegalArgumentException("--teacher-tp " + teacherTensorParallel + " must be 1, the student's --tp, or 0 for the student's");
        }
        this.teacherTensorParallel = teacherTensorParallel;
    }

    /**
     * Fills in what distillation fixes in a pretraining configuration: the student's model (from
     * {@code studentDir}'s config.json, or DistilBERT with {@code layers} of the teacher's), the
     * teacher's vocabulary and casing, and the masked-LM task.
     *
     * @param b the run's builder (data, output, steps, layout, optimizer already set)
     * @param teacherDir the teacher's directory
     * @param studentDir a student directory to start from, or null
     * @param layers the student's layers when initialised from the teacher (0: half the teacher's, at least 1)
     * @return {@code b}
     * @throws IOException if a config cannot be read
     * @throws IllegalArgumentException naming the value and the fix, if teacher and student do not fit
     */
    public static TrainConfig.Builder configure(TrainConfig.Builder b, Path teacherDir, Path studentDir, int layers) throws IOException {
        TransformerConfig teacher = DistilBertStudent.readTeacher(teacherDir);
        TransformerConfig student;
        if (studentDir != null) {
            if (!Files.isRegularFile(studentDir.resolve(HfConfigJson.FILE_NAME))) {
                throw new IllegalArgumentException("--student " + studentDir + " has no " + HfConfigJson.FILE_NAME
                        + "; point it at a DistilBERT model directory, or omit it to start from the teacher's layers");
            }
            student = HfConfigJson.read(studentDir);
            if (student.architecture() != Architecture.DISTILBERT) {
                throw new IllegalArgumentException("--student " + studentDir + " is " + student.architecture() + "; the student is DistilBERT");
            }
            checkSameVocabulary(teacherDir, studentDir, teacher, student);
        } else {
            student = DistilBertStudent.config(teacher, layers == 0 ? Math.max(1, teacher.numLayers() / 2) : layers);
        }
        return b.optTask(Task.MLM).setModel(student, "distilbert student of " + teacherDir.getFileName())
                .optVocabFile(teacherDir.resolve(HfTokenizerFiles.VOCAB_FILE)).optCased(!ModelTokenizer.lowerCase(teacherDir));
    }

    @Override
    public void initialise(TransformerModel model, DataParallelOptimizer optimizer, Path out, NDManager manager) throws IOException {
        ParallelContext ctx = model.parallel();
        Path from = studentDir;
        if (from == null) {
            from = out.resolve(STUDENT_INIT);
            IOException failure = null;
            if (ctx.rank() == 0) {
                try {
                    DistilBertStudent.write(teacherDir, from, model.config().numLayers(), manager);
                } catch (IOException | RuntimeException e) {
                    failure = e instanceof IOException io ? io : new IOException(e.getMessage(), e);
                }
            }
            double[] ok = BatchTensors.allReduceSum(ctx.world(), new double[] {failure == null ? 0 : 1}, manager);
            if (failure != null) {
                throw failure;
            }
            if (ok[0] > 0) {
                throw new IOException("rank 0 could not write the student's starting weights to " + from + "; see its error");
            }
        }
        Path dir = from;
        optimizer.setParameters(() -> HfCheckpoint.load(model, dir));
    }

    @Override
    public TrainingObjective objective(TransformerModel model, NDManager manager) throws IOException {
        if (!(model instanceof MaskedLanguageModel student)) {
            throw new IllegalArgumentException("the student " + model.getClass().getSimpleName() + " has no masked-LM head; distil into"
                    + " DistilBERT (DistilBertForMaskedLM)");
        }
        ParallelContext ctx = model.parallel();
        int tp = teacherTensorParallel == 0 ? ctx.tensorSize() : teacherTensorParallel;
        ParallelContext teacherCtx;
        if (tp == ctx.tensorSize()) {
            teacherCtx = ctx;
        } else if (tp == 1) {
            ParallelLayout layout = new ParallelLayout(ctx.world().size(), 1, 1, ctx.world().size());
            teacherCtx = new ParallelContext(ctx.rank(), layout, ctx.world(), new SingleRankCommunicator("teacher-tp"), ctx.world());
        } else {
            throw new IllegalArgumentException("--teacher-tp " + tp + ": the teacher runs at tensor degree 1 or at the student's (--tp "
                    + ctx.tensorSize() + "), whose group holds one batch; choose one of those");
        }
        TransformerConfig config = DistilBertStudent.readTeacher(teacherDir);
        TransformerModel teacher = TransformerModel.of(config, teacherCtx);
        if (!(teacher instanceof MaskedLmForward)) {
            throw new IllegalArgumentException("the teacher " + teacherDir + " (" + teacher.getClass().getSimpleName()
                    + ") has no masked-LM head");
        }
        // No gradient buffers, no optimizer state: the teacher only runs forward.
        teacherParams = ParameterBuffer.allocate(teacher, 0, manager, false);
        HfCheckpoint.load(teacher, teacherDir);
        return new DistillationObjective(student, teacher, loss);
    }

    /** @return the teacher's parameters once {@link #objective} has loaded them (tests check they never change) */
    public ParameterBuffer teacherParameters() {
        return teacherParams;
    }

    private static void checkSameVocabulary(Path teacherDir, Path studentDir, TransformerConfig teacher, TransformerConfig student)
            throws IOException {
        Path sv = studentDir.resolve(HfTokenizerFiles.VOCAB_FILE);
        boolean same = teacher.vocabSize() == student.vocabSize() && Files.isRegularFile(sv)
                && Arrays.equals(Files.readAllBytes(sv), Files.readAllBytes(teacherDir.resolve(HfTokenizerFiles.VOCAB_FILE)));
        if (!same) {
            throw new IllegalArgumentException("the student " + studentDir + " and the teacher " + teacherDir + " have different"
                    + " vocabularies (" + student.vocabSize() + " and " + teacher.vocabSize() + " tokens"
                    + (Files.isRegularFile(sv) ? ", vocab.txt files differ" : ", the student has no vocab.txt")
                    + "); soft targets are distributions over one vocabulary: start the student from the teacher's layers"
                    + " (omit --student) or give it the teacher's vocab.txt");
        }
    }
}
