package io.tessera.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Scalars;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.LossTerms;
import io.tessera.models.MaskedLanguageModel;
import io.tessera.models.MaskedLmForward;
import io.tessera.models.MaskedLmOutput;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.train.TrainingObjective;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * DistilBERT's triple loss ({@link DistillationLoss}) over a masked-LM student and a forward-only
 * teacher. Shapes: B batch, T sequence, C hidden (the same for both), V vocabulary, N masked positions.
 *
 * <pre>
 *   teacher (gradient-free tape, no dropout):  h_t [B, T, C], z_t [N, V] gathered over the teacher's tensor group
 *   student (the training tape):               h_s [B, T, C], z_s = its [B, T, V'/p] logits at the N masked
 *                                              positions, gathered over the student's tensor group ([N, V])
 *   ce  = Σ_N  −T² · Σ_v softmax(z_t/T)_v · log_softmax(z_s/T)_v          count N
 *   mlm = N · (the student's mean masked-LM cross-entropy)                 count N
 *   cos = Σ_attended (1 − h_s·h_t / max(‖h_s‖·‖h_t‖, 1e-8))                count attended positions
 * </pre>
 * each returned as a {@link LossTerms.Term} weighted by α_ce, α_mlm, α_cos, so that
 * {@code GlobalBatchStep} normalises each by its global count. The teacher's outputs enter the student's
 * tape as constants: no gradient reaches it and its parameters hold no gradient buffer. Gathering the
 * masked positions' logits costs N·V floats per rank, a fraction (the masking rate) of the full logits.
 *
 * <p>Thread safety: not thread-safe; one per rank.
 */
public final class DistillationObjective implements TrainingObjective {

    /** Term names, in order. */
    public static final String CE = "ce";
    /** The student's masked-LM term. */
    public static final String MLM = "mlm";
    /** The hidden-state cosine term. */
    public static final String COS = "cos";

    private final MaskedLanguageModel student;
    private final TransformerModel teacher;
    private final MaskedLmForward teacherForward;
    private final DistillationLoss loss;

    /**
     * @param student the trained masked-LM model
     * @param teacher an allocated, loaded masked-LM model of the same vocabulary and width (its tensor
     *     group is the student's or a single rank, so that it sees the same batch)
     * @param loss the weights and temperature
     * @throws IllegalArgumentException if the teacher has no masked-LM head or its vocabulary or width differ
     */
    public DistillationObjective(MaskedLanguageModel student, TransformerModel teacher, DistillationLoss loss) {
        this.student = Objects.requireNonNull(student, "student");
        this.teacher = Objects.requireNonNull(teacher, "teacher");
        this.loss = Objects.requireNonNull(loss, "loss");
        if (!(teacher instanceof MaskedLmForward f)) {
            throw new IllegalArgumentException("the teacher " + teacher.getClass().getSimpleName() + " has no masked-LM head to give soft"
                    + " targets; use a BERT, RoBERTa or DistilBERT pre-training model");
        }
        this.teacherForward = f;
        if (teacher.config().vocabSize() != student.config().vocabSize()) {
            throw new IllegalArgumentException("the teacher's vocabulary has " + teacher.config().vocabSize() + " tokens, the student's "
                    + student.config().vocabSize() + "; soft targets need one vocabulary: give the student the teacher's vocab.txt");
        }
        if (teacher.config().hiddenSize() != student.config().hiddenSize()) {
            throw new IllegalArgumentException("the teacher's hidden size is " + teacher.config().hiddenSize() + ", the student's "
                    + student.config().hiddenSize() + "; the cosine loss compares hidden states of one width");
        }
    }

    @Override
    public Map<String, Long> labelCounts(TokenBatch batch) {
        long masked = batch.labels() == null ? 0 : count(batch.labels().neq(-100));
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put(CE, masked);
        counts.put(MLM, masked);
        counts.put(COS, batch.attentionMask() == null ? (long) batch.batchSize() * batch.seqLength() : count(batch.attentionMask().neq(0)));
        return counts;
    }

    @Override
    public LossTerms lossTerms(Tape tape, TokenBatch batch) {
        Map<String, Long> counts = labelCounts(batch);
        long masked = counts.get(CE);
        long attended = counts.get(COS);
        NDManager m = tape.manager();
        NDArray maskedAt = batch.labels() == null ? null : batch.labels().neq(-100);
        if (maskedAt != null) {
            maskedAt.attach(m);
        }
        NDArray attendedAt = batch.attentionMask() == null ? null : batch.attentionMask().neq(0).toType(DataType.FLOAT32, false);
        if (attendedAt != null) {
            attendedAt.attach(m);
        }
        Teacher t = teacherOutputs(tape, batch, masked > 0 ? maskedAt : null);

        MaskedLmOutput out = student.forward(tape, batch);
        List<LossTerms.Term> terms = new ArrayList<>();
        double temp = loss.temperature();
        if (masked > 0) {
            Var local = tape.apply1("distill.student.select", false, (c, in) -> new NDList(in.get(0).get(maskedAt)), out.logits());
            Var full = student.gatherVocabLogits(tape, "distill.student", local);                   // [N, V]
            NDArray targets = t.maskedLogits.div(temp).softmax(-1);
            targets.attach(m);
            Var ce = tape.apply1("distill.ce", false, (c, in) -> {
                NDArray logp = in.get(0).div(Scalars.of(in.get(0), temp)).logSoftmax(-1);
                return new NDList(logp.mul(targets).sum().mul(Scalars.of(logp, -temp * temp)));
            }, full);
            terms.add(new LossTerms.Term(CE, ce, masked, -1, loss.alphaCe()));
            Var mlm = tape.apply1("distill.mlm.sum", false, (c, in) -> new NDList(in.get(0).mul(Scalars.of(in.get(0), masked))), out.loss());
            terms.add(new LossTerms.Term(MLM, mlm, masked, -1, loss.alphaMlm()));
        } else {
            terms.add(new LossTerms.Term(CE, null, 0, -1, loss.alphaCe()));
            terms.add(new LossTerms.Term(MLM, null, 0, -1, loss.alphaMlm()));
        }
        NDArray teacherHidden = t.hidden;
        // Without masked positions the head would drop out of this rank's backward while other ranks run it, and
        // ZeRO-3 (which gathers parameters in node order) needs every rank's backward to visit the same nodes:
        // the logits join the cosine term with weight 0.
        Var[] inputs = masked > 0 ? new Var[] {out.sequenceOutput()} : new Var[] {out.sequenceOutput(), out.logits()};
        Var cos = tape.apply1("distill.cos", false, (c, in) -> {
            NDArray hs = in.get(0);
            NDArray dot = hs.mul(teacherHidden).sum(new int[] {-1});
            NDArray norms = hs.norm(new int[] {-1}).mul(teacherHidden.norm(new int[] {-1})).maximum(1e-8f);
            NDArray oneMinus = dot.div(norms).neg().add(1f);                                                // [B, T]
            NDArray sum = (attendedAt == null ? oneMinus : oneMinus.mul(attendedAt)).sum();
            return new NDList(in.size() == 1 ? sum : sum.add(in.get(1).sum().mul(0f)));
        }, inputs);
        terms.add(new LossTerms.Term(COS, cos, attended, -1, loss.alphaCos()));
        return new LossTerms(terms);
    }

    /** The teacher's last hidden states and masked-position logits, as arrays of the student's tape. */
    private record Teacher(NDArray hidden, NDArray maskedLogits) {}

    private Teacher teacherOutputs(Tape tape, TokenBatch batch, NDArray maskedAt) {
        TokenBatch input = new TokenBatch(batch.inputIds(), null, batch.attentionMask(), null, null);
        try (Tape forward = new Tape(tape.manager(), 0, false, false).gemm(tape.gemm())) {
            MaskedLmOutput out = teacherForward.maskedLm(forward, input);
            NDArray hidden = out.sequenceOutput().value().duplicate();
            hidden.attach(tape.manager());
            NDArray logits = null;
            if (maskedAt != null) {
                Var local = forward.apply1("distill.teacher.select", false, (c, in) -> new NDList(in.get(0).get(maskedAt)), out.logits());
                logits = teacher.gatherVocabLogits(forward, "distill.teacher", local).value().duplicate();
                logits.attach(tape.manager());
            }
            return new Teacher(hidden, logits);
        }
    }

    private static long count(NDArray bool) {
        try (NDArray b = bool; NDArray i = b.toType(DataType.INT64, false); NDArray n = i.sum()) {
            return n.getLong();
        }
    }
}
