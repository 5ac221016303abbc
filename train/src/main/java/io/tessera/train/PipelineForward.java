package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.LossTerms;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.pipeline.LayerPartition;

/**
 * A forward-only pass of one micro-batch through a model held in pipeline stages, for evaluation: the
 * hidden states go down the virtual stages in order (chunk c of rank s is virtual stage c·p + s), each
 * rank receiving, running its chunk and sending on; the last virtual stage records the loss terms.
 *
 * <pre>
 *   for c in 0 … v−1:  vs = c·p + s
 *     x = vs = 0 ? embed(batch) : recv from rank (vs − 1) mod p        [B, T, C]  ([B, T/tp, C] sequence-parallel)
 *     y = chunk(c, x)
 *     vs = p·v − 1 ? terms = head(y, batch) : send y to rank (vs + 1) mod p
 * </pre>
 *
 * <p>Micro-batches pass one at a time (no overlap: evaluation is a small part of a run). Every rank of the
 * pipeline group calls {@link #terms} for the same micro-batch.
 *
 * <p>Thread safety: stateless.
 */
final class PipelineForward {

    private PipelineForward() {}

    /**
     * @param model this rank's stage
     * @param ctx this rank's context
     * @param hidden C
     * @param tape a gradient-free tape
     * @param batch the micro-batch (the same on every stage)
     * @param countCorrect whether the head counts correct predictions
     * @return the terms on the rank holding the last virtual stage, null on the others
     */
    static LossTerms terms(PipelinedModel model, ParallelContext ctx, int hidden, Tape tape, TokenBatch batch, boolean countCorrect) {
        LayerPartition part = model.partition();
        int p = part.stages();
        int local = PipelineStep.localLength(ctx, batch);
        LossTerms terms = null;
        for (int c = 0; c < part.chunks(); c++) {
            int vs = part.virtualStage(c);
            Var x;
            if (part.startsModel(c)) {
                x = model.embed(tape, batch);
            } else {
                NDArray in = tape.manager().zeros(new Shape(batch.batchSize(), local, hidden), DataType.FLOAT32);
                ctx.pipeline().recv(in, Math.floorMod(vs - 1, p));
                x = tape.constant(in);
            }
            Var y = model.chunk(tape, c, x, batch);
            if (part.endsModel(c)) {
                terms = model.head(tape, y, batch, countCorrect);
            } else {
                ctx.pipeline().send(y.value(), Math.floorMod(vs + 1, p));
            }
        }
        return terms;
    }
}
