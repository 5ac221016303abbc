package io.tessera.cli;

import ai.djl.Device;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.parallel.ParallelContext;
import io.tessera.train.TrainConfig;
import io.tessera.train.Trainer;
import io.tessera.train.distill.DistilBertDistillation;
import io.tessera.train.distill.DistilBertStudent;
import io.tessera.train.distill.DistillationLoss;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera distill}: knowledge distillation recipes, one subcommand each.
 *
 * <p>Thread safety: a command object serves one invocation.
 */
@Command(name = "distill", description = "Knowledge distillation: distilbert (a half-depth DistilBERT student from a pretrained"
        + " BERT teacher, Sanh et al. 2019) or bilstm (a fine-tuned classifier into a BiLSTM, Tang et al. 2019).",
        mixinStandardHelpOptions = true, subcommands = {DistillCommand.DistilBert.class, DistillBiLstmCommand.class})
final class DistillCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        spec.commandLine().getErr().println("distill: name a recipe, e.g. `tessera distill distilbert --teacher runs/bert/model`");
        return 2;
    }

    /**
     * DistilBERT's recipe: every pretraining option (layout, ZeRO, steps, data, checkpoints, resume) applies
     * to the student; the model, vocabulary and casing come from the teacher.
     */
    @Command(name = "distilbert", description = "Distil a pretrained BERT (or DistilBERT) into a DistilBERT student with half its"
            + " layers, initialised from every other teacher layer, with the loss α_ce·T²·soft-target CE + α_mlm·MLM + α_cos·cosine"
            + " of hidden states; the teacher runs forward only. Exports the student to OUT/model.",
            mixinStandardHelpOptions = true)
    static final class DistilBert extends PretrainCommand {

        @Option(names = "--teacher", description = "The teacher: a BERT or DistilBERT pre-training export with its vocab.txt."
                + " Default: ${DEFAULT-VALUE} (the main job's export).")
        Path teacher = Path.of("runs/bert/model");

        @Option(names = "--student", description = "Start from this DistilBERT directory (same vocabulary) instead of the teacher's layers.")
        Path student;

        @Option(names = "--student-layers", description = "Student layers, taken from teacher layers ⌊j·L_t/L_s⌋ (0: half the"
                + " teacher's). Default: ${DEFAULT-VALUE}.")
        int studentLayers;

        @Option(names = "--alpha-ce", description = "Weight of the soft-target cross-entropy. Default: ${DEFAULT-VALUE} (the paper's).")
        double alphaCe = DistillationLoss.PAPER.alphaCe();

        @Option(names = "--alpha-mlm", description = "Weight of the student's masked-LM loss. Default: ${DEFAULT-VALUE}.")
        double alphaMlm = DistillationLoss.PAPER.alphaMlm();

        @Option(names = "--alpha-cos", description = "Weight of the hidden-state cosine loss. Default: ${DEFAULT-VALUE}.")
        double alphaCos = DistillationLoss.PAPER.alphaCos();

        @Option(names = "--temperature", description = "Softmax temperature of the soft targets. Default: ${DEFAULT-VALUE}.")
        double temperature = DistillationLoss.PAPER.temperature();

        @Option(names = "--teacher-tp", description = "The teacher's tensor-parallel degree: 1 (a replica per rank) or the"
                + " student's --tp (0: the student's). Default: ${DEFAULT-VALUE}.")
        int teacherTp;

        DistilBert() {
            out = Path.of("runs/distilbert");
            lr = 5e-4;
        }

        @Override
        public Integer call() throws Exception {
            for (String fixed : List.of("--model", "--vocab", "--vocab-size", "--cased")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(fixed)) {
                    throw new IllegalArgumentException(fixed + " does not apply to distill distilbert: the student's model, vocabulary"
                            + " and casing come from --teacher (and --student-layers / --student); drop " + fixed);
                }
            }
            new DistillationLoss(alphaCe, alphaMlm, alphaCos, temperature); // checks the weights before any rank starts
            return super.call();
        }

        @Override
        TransformerConfig modelConfig() throws IOException {
            if (student != null) {
                return HfConfigJson.read(student);
            }
            TransformerConfig t = DistilBertStudent.readTeacher(teacher);
            return DistilBertStudent.config(t, studentLayers == 0 ? Math.max(1, t.numLayers() / 2) : studentLayers);
        }

        @Override
        TrainConfig.Builder adjust(TrainConfig.Builder b) throws IOException {
            return DistilBertDistillation.configure(b, teacher, student, studentLayers);
        }

        @Override
        Trainer trainer(TrainConfig cfg, ParallelContext ctx, Device here) {
            return new Trainer(cfg, ctx, here, System.out).withRecipe(new DistilBertDistillation(teacher, student,
                    new DistillationLoss(alphaCe, alphaMlm, alphaCos, temperature), teacherTp));
        }
    }
}
