package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.GatherFromTensorParallelRegion;
import io.tessera.parallel.tensor.TensorParallelRng;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A BERT or GPT-2 model built from the tensor-parallel layers, so that the same code runs at any
 * tensor-parallel degree. The model is the root {@link Module}: its parameter names are the Hugging
 * Face checkpoint names, and {@link io.tessera.core.nn.ParameterBuffer#allocate} binds its storage.
 *
 * <p>Construction only declares: it checks the configuration against the degree
 * ({@link TransformerConfig#validateFor}) before any layer exists, and allocates no memory.
 *
 * <pre>{@code
 * Gpt2LmHeadModel model = new Gpt2LmHeadModel(Presets.get("gpt2-tiny"), parallel);  // checks, declares
 * try (ParameterBuffer params = ParameterBuffer.allocate(model, seed, manager);
 *      Tape tape = new Tape(manager, stepSeed, true)) {
 *     Var loss = model.loss(tape, batch);
 *     tape.backward(loss);                                                             // params.grads()
 * }
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; a model belongs to one rank.
 */
public abstract class TransformerModel extends Module {

    private final TransformerConfig config;
    private final ParallelContext parallel;
    private final int paddedVocabSize;
    private final TensorParallelRng rng;
    private final Map<Parameter, HfLayout> layouts = new IdentityHashMap<>();

    /**
     * @param config the configuration
     * @param parallel this rank's parallel context
     * @param architecture the family the subclass builds
     * @throws IllegalArgumentException if the configuration is of another family or does not split over
     *     the tensor-parallel degree; nothing has been allocated
     */
    protected TransformerModel(TransformerConfig config, ParallelContext parallel, Architecture architecture) {
        this(config, parallel, architecture, HeadConfig.Task.PRETRAINING);
    }

    /**
     * @param config the configuration
     * @param parallel this rank's parallel context
     * @param architecture the family the subclass builds
     * @param task the head the subclass builds, which the configuration's {@link TransformerConfig#head}
     *     must name (its {@code config.json} says which class wrote the checkpoint)
     * @throws IllegalArgumentException if the configuration is of another family or head, or does not
     *     split over the tensor-parallel degree; nothing has been allocated
     */
    protected TransformerModel(TransformerConfig config, ParallelContext parallel, Architecture architecture,
                               HeadConfig.Task task) {
        this.config = Objects.requireNonNull(config, "config");
        if (config.head().task() != task) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has the " + task + " head, got a configuration"
                    + " with head " + config.head().task() + "; use TransformerModel.of(config, parallel), or"
                    + " config.toBuilder().optHead(..) to change the head");
        }
        this.parallel = Objects.requireNonNull(parallel, "parallel");
        if (config.architecture() != architecture) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " builds " + architecture + " models, got a "
                    + config.architecture() + " configuration; use the model class of that family");
        }
        if ((parallel.pipelineSize() > 1 || parallel.sequenceParallel()) && !(this instanceof PipelinedModel)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " does not run "
                    + (parallel.pipelineSize() > 1 ? "in pipeline stages (--pp " + parallel.pipelineSize() + ")" : "with --sequence-parallel")
                    + " yet: BERT (BertForPreTraining) and GPT-2 (Gpt2LmHeadModel) pre-training do; use --pp 1 and no"
                    + " --sequence-parallel for " + config.architecture() + " with the " + task + " head");
        }
        config.validateFor(parallel.tensorSize());
        this.paddedVocabSize = config.paddedVocabSize(parallel.tensorSize());
        this.rng = new TensorParallelRng(parallel.tensorRank());
    }

    /**
     * The model of a configuration's head and family: {@code SequenceClassifier} or
     * {@code TokenClassifier} for a classifier head (BERT, RoBERTa, DistilBERT), else the pre-training
     * model of the family: {@code BertForPreTraining} for BERT,
     * {@code Gpt2LmHeadModel} for GPT-2, {@code RobertaForMaskedLM} for RoBERTa,
     * {@code DistilBertForMaskedLM} for DistilBERT, {@code AlbertForPreTraining} for ALBERT. Declares only; allocates nothing.
     *
     * @param config the configuration
     * @param parallel this rank's parallel context
     * @return the model
     */
    public static TransformerModel of(TransformerConfig config, ParallelContext parallel) {
        switch (config.head().task()) {
            case SEQUENCE_CLASSIFICATION:
                return new io.tessera.models.heads.SequenceClassifier(config, parallel);
            case TOKEN_CLASSIFICATION:
                return new io.tessera.models.heads.TokenClassifier(config, parallel);
            default:
                break;
        }
        switch (config.architecture()) {
            case BERT:
                return new io.tessera.models.bert.BertForPreTraining(config, parallel);
            case ROBERTA:
                return new io.tessera.models.roberta.RobertaForMaskedLM(config, parallel);
            case DISTILBERT:
                return new io.tessera.models.distilbert.DistilBertForMaskedLM(config, parallel);
            case ALBERT:
                return new io.tessera.models.albert.AlbertForPreTraining(config, parallel);
            default:
                return new io.tessera.models.gpt2.Gpt2LmHeadModel(config, parallel);
        }
    }

    /** @return the configuration */
    public final TransformerConfig config() {
        return config;
    }

    /** @return this rank's parallel context */
    public final ParallelContext parallel() {
        return parallel;
    }

    /** @return V', the vocabulary padded for this tensor-parallel degree */
    public final int paddedVocabSize() {
        return paddedVocabSize;
    }

    /** @return this rank's dropout RNG tracker */
    protected final TensorParallelRng rng() {
        return rng;
    }

    /**
     * Records the forward pass and the pre-training loss.
     *
     * @param tape the step's tape
     * @param batch the batch, with labels
     * @return the scalar loss, the same on every rank of the tensor-parallel group
     */
    public abstract Var loss(Tape tape, TokenBatch batch);

    /**
     * Records the forward pass and the loss as named sums with their label counts ({@link LossTerms}),
     * so that a trainer can normalise by the whole global batch's counts.
     *
     * @param tape the step's tape
     * @param batch the batch, with labels
     * @param countCorrect whether to count correct arg-max predictions per term (evaluation; gathers the
     *     vocabulary logits over the tensor-parallel group, so every rank of it must ask alike)
     * @return the terms, the same on every rank of the tensor-parallel group; the batch's arrays then
     *     belong to the tape (count with {@link #labelCounts} before)
     */
    public abstract LossTerms lossTerms(Tape tape, TokenBatch batch, boolean countCorrect);

    /**
     * The label count of every term {@link #lossTerms} would return for this batch, without recording
     * anything: what a trainer sums over the global batch before the first forward pass.
     *
     * @param batch the batch
     * @return term name to count, in the order of {@link #lossTerms}
     */
    public abstract Map<String, Long> labelCounts(TokenBatch batch);

    /**
     * @param labels integer labels, -100 where a position carries none (not modified)
     * @return how many carry one
     */
    protected static long labelled(NDArray labels) {
        try (NDArray scored = labels.neq(-100); NDArray n = scored.toType(DataType.INT64, false).sum()) {
            return n.getLong();
        }
    }

    /**
     * A term of {@link LossTerms} from a mean loss: {@code sum = mean · count} on the tape.
     *
     * @param tape the tape
     * @param name the term name
     * @param mean the mean over labelled positions (ignored when count is 0)
     * @param count labelled positions
     * @param correct correct predictions, or -1
     * @return the term
     */
    protected static LossTerms.Term term(Tape tape, String name, Var mean, long count, long correct) {
        if (count == 0) {
            return new LossTerms.Term(name, null, 0, correct);
        }
        Var sum = tape.apply1(name + ".loss.sum", false,
                (ctx, in) -> new NDList(in.get(0).mul(io.tessera.core.Scalars.of(in.get(0), count))), mean);
        return new LossTerms.Term(name, sum, count, correct);
    }

    /**
     * Positions per sequence that {@link #lossTerms} sends through the vocabulary projection, for FLOP
     * counts: every position here; a head that projects only labelled positions says so.
     *
     * @param seq positions per sequence
     * @param labelled expected labelled positions per sequence
     * @return positions projected, in [0, seq]
     */
    public int projectedPositions(int seq, double labelled) {
        return seq;
    }

    /**
     * Arg-max predictions of vocabulary-parallel logits that match their labels (collective over the
     * tensor-parallel group).
     *
     * @param tape the tape
     * @param name node name
     * @param localLogits this rank's {@code [..., V'/p]} logits
     * @param targets {@code [...]} labels, -100 where none
     * @return matching labelled positions
     */
    protected final long correctTokens(Tape tape, String name, Var localLogits, NDArray targets) {
        NDArray logits = gatherVocabLogits(tape, name, localLogits).value();
        try (NDManager scratch = tape.manager().newSubManager()) {
            NDArray predicted = logits.argMax(-1).toType(DataType.INT64, false);
            predicted.attach(scratch);
            NDArray t = targets.toType(DataType.INT64, false);
            t.attach(scratch);
            NDArray hit = predicted.eq(t).logicalAnd(t.neq(-100)).toType(DataType.INT64, false).sum();
            hit.attach(scratch);
            return hit.getLong();
        }
    }

    /**
     * The prefix of the base model's names ({@code bert}, {@code transformer}); checkpoints saved from
     * the base model class omit it.
     *
     * @return the prefix, without the dot
     */
    public abstract String basePrefix();

    /**
     * Names a Hugging Face checkpoint may hold that are not parameters here: tied copies
     * ({@code lm_head.weight}, {@code cls.predictions.decoder.*}) and non-persistent buffers.
     *
     * @param name a checkpoint name
     * @return whether loading may skip it
     */
    public abstract boolean isTiedOrBuffer(String name);

    /**
     * Every parameter with its checkpoint name and layout, in checkpoint order.
     *
     * @return the tensors of a Hugging Face checkpoint of this model
     */
    public final List<HfTensor> hfTensors() {
        List<HfTensor> out = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
            out.add(new HfTensor(e.getKey(), e.getValue(), layouts.getOrDefault(e.getValue(), HfLayout.IDENTITY)));
        }
        return out;
    }

    /**
     * Records that a parameter is not stored as Hugging Face stores it.
     *
     * @param p the parameter
     * @param layout its mapping to the checkpoint tensor
     */
    protected final void hfLayout(Parameter p, HfLayout layout) {
        layouts.put(p, layout);
    }

    /**
     * Gathers vocabulary-parallel logits into whole, unpadded logits (for evaluation and tests; the loss
     * never needs them).
     *
     * @param tape the step's tape
     * @param name node name
     * @param localLogits this rank's logits {@code [..., V'/p]}
     * @return {@code [..., V]}, the same on every rank
     */
    public final Var gatherVocabLogits(Tape tape, String name, Var localLogits) {
        Var full = GatherFromTensorParallelRegion.apply(tape, parallel.tensor(), name + ".gather", localLogits);
        if (paddedVocabSize == config.vocabSize()) {
            return full;
        }
        return tape.apply1(name + ".unpad", false, (ctx, in) -> new NDList(in.get(0).get(new NDIndex("..., 0:" + config.vocabSize()))), full);
    }

    /**
     * Checks a batch against the configuration before anything is recorded: length, id ranges and
     * label values. Costs one small reduction per field.
     *
     * @param tape the step's tape (temporaries live in a scope of it, freed at once)
     * @param batch the batch
     * @throws IllegalArgumentException naming the offending field and value
     */
    protected final void checkBatch(Tape tape, TokenBatch batch) {
        int t = batch.seqLength();
        if (t > config.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds maxPositions = " + config.maxPositions()
                    + "; truncate the batch or use a configuration with more positions");
        }
        try (NDManager scratch = tape.manager().newSubManager()) {
            checkRange(scratch, "inputIds", batch.inputIds(), 0, config.vocabSize(), Set.of(),
                    "check the tokenizer's vocabulary against the configuration's vocabSize");
            checkLabels(scratch, batch);
            checkFamilyFields(scratch, batch);
        }
    }

    /**
     * Checks the per-token {@code labels}: vocabulary ids or -100 for the language-model heads; a task
     * head checks its classes instead.
     *
     * @param scratch owner of temporaries
     * @param batch the batch
     */
    protected void checkLabels(NDManager scratch, TokenBatch batch) {
        if (batch.labels() != null) {
            checkRange(scratch, "labels", batch.labels(), 0, config.vocabSize(), Set.of(-100L),
                    "use -100 for positions without loss");
        }
    }

    /**
     * Checks the batch fields only one family reads (token types, next-sentence labels).
     *
     * @param scratch owner of temporaries
     * @param batch the batch
     */
    protected void checkFamilyFields(NDManager scratch, TokenBatch batch) {}

    /**
     * Fails if {@code a} holds a value outside {@code [from, to)} that is not in {@code allowed}.
     *
     * @param scratch owner of temporaries
     * @param field the batch field, for the message
     * @param a an integer tensor (not modified, not re-owned)
     * @param from smallest valid value
     * @param to one past the largest valid value
     * @param allowed special values also accepted (the ignore index)
     * @param hint how to fix it
     */
    public static void checkRange(NDManager scratch, String field, NDArray a, long from, long to, Set<Long> allowed,
                                     String hint) {
        a = a.stopGradient();
        a.attach(scratch);
        NDArray bad = a.lt(from).logicalOr(a.gte(to));
        for (long ok : allowed) {
            bad = bad.logicalAnd(a.neq(ok));
        }
        if (bad.any().getBoolean()) {
            long value = a.get(bad).get(0).toType(DataType.INT64, false).getLong();
            throw new IllegalArgumentException(field + " holds " + value + ", outside [" + from + ", " + to + ")"
                    + (allowed.isEmpty() ? "" : " and not one of " + allowed) + "; " + hint);
        }
    }
}
