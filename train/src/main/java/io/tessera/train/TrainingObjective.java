package io.tessera.train;

import io.tessera.core.tape.Tape;
import io.tessera.models.LossTerms;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link GlobalBatchStep} minimises: named, weighted loss sums with their label counts. A model's own
 * objective ({@link #of}) is its pre-training or task loss; a recipe may build another over the same
 * trained model (distillation adds a teacher's soft targets).
 *
 * <p>Thread safety: as the model it wraps (one rank's).
 */
public interface TrainingObjective {

    /**
     * The label count of every term {@link #lossTerms} would return for this batch, without recording
     * anything.
     *
     * @param batch the batch
     * @return term name to count, in the order of {@link #lossTerms}
     */
    Map<String, Long> labelCounts(TokenBatch batch);

    /**
     * Records the forward pass of the trained model (and whatever else the objective needs) and the terms.
     *
     * @param tape the micro-batch's training tape
     * @param batch the batch (its arrays then belong to the tape: count with {@link #labelCounts} before)
     * @return the terms, each with its weight
     */
    LossTerms lossTerms(Tape tape, TokenBatch batch);

    /**
     * @param model a model
     * @return its own loss terms, each of weight 1
     */
    static TrainingObjective of(TransformerModel model) {
        Objects.requireNonNull(model, "model");
        return new TrainingObjective() {
            @Override
            public Map<String, Long> labelCounts(TokenBatch batch) {
                return model.labelCounts(batch);
            }

            @Override
            public LossTerms lossTerms(Tape tape, TokenBatch batch) {
                return model.lossTerms(tape, batch, false);
            }
        };
    }
}
