package io.tessera.parallel.pipeline;

import io.tessera.core.nn.Parameter;
import java.util.Set;

/**
 * A pipeline stage's model that holds copies of parameters whose reference copy lives on another
 * stage: the word embedding, which the last stage needs for the tied output layer (Megatron's
 * {@code word_embeddings_for_head}). The copies' gradients are summed with the reference's before the
 * update, so both stay equal; norms over the whole model count them once, on the reference's stage.
 *
 * <p>Thread safety: implementations are immutable after construction.
 */
public interface StageCopies {

    /** @return the parameters of this stage that are copies of another stage's (empty on most stages) */
    Set<Parameter> stageCopies();
}
