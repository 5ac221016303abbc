package io.tessera.train;

import ai.djl.ndarray.NDManager;
import io.tessera.models.TransformerModel;
import io.tessera.optim.zero.DataParallelOptimizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * How a {@link Trainer} run starts and what its steps minimise, when that is not the model's own
 * pre-training loss from a random start. Pretraining uses {@link #PRETRAINING}; distillation starts the
 * student from its teacher's layers and adds the teacher's soft targets.
 *
 * <p>Thread safety: called on each rank's own thread; an implementation keeps no state shared between
 * ranks.
 */
public interface TrainingRecipe {

    /** The model's own loss from the seed's initialisation. */
    TrainingRecipe PRETRAINING = new TrainingRecipe() {};

    /**
     * Sets the parameters a fresh run starts from (not called when resuming: the checkpoint holds them).
     * Every rank calls it together, after the output folder exists and before the first evaluation.
     *
     * @param model the allocated model
     * @param optimizer its optimizer ({@link DataParallelOptimizer#setParameters} writes through any ZeRO stage)
     * @param out the run's output folder (it exists)
     * @param manager the run's scope
     * @throws IOException if reading the starting weights fails
     */
    default void initialise(TransformerModel model, DataParallelOptimizer optimizer, Path out, NDManager manager) throws IOException {}

    /**
     * The objective of every step. Whatever it allocates belongs to {@code manager}, the run's scope.
     *
     * @param model the trained model
     * @param manager the run's scope
     * @return the objective
     * @throws IOException if reading what it needs (a teacher's weights) fails
     */
    default TrainingObjective objective(TransformerModel model, NDManager manager) throws IOException {
        return TrainingObjective.of(model);
    }
}
