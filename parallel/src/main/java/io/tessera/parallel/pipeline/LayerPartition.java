package io.tessera.parallel.pipeline;

/**
 * Which Transformer layers a pipeline rank holds: the {@code L} layers are cut into {@code p·v}
 * contiguous, equal virtual stages; chunk {@code c} of pipeline rank {@code s} is virtual stage
 * {@code c·p + s} (Megatron's interleaving; {@code v = 1} without it). The embedding sits before
 * virtual stage 0, the final LayerNorm and the heads after virtual stage {@code p·v − 1}.
 *
 * <pre>
 *   L = 8, p = 2, v = 1:   rank 0: embedding, layers 0–3           rank 1: layers 4–7, head
 *   L = 8, p = 2, v = 2:   rank 0: embedding, layers 0–1, 4–5      rank 1: layers 2–3, 6–7, head
 *   layers of chunk c on rank s:  [vs·L/(p·v), (vs+1)·L/(p·v))   with vs = c·p + s
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param layers L, the model's layer count
 * @param stages p, the pipeline degree
 * @param chunks v, model chunks per rank (virtual stages)
 * @param stage s, this rank's pipeline stage
 */
public record LayerPartition(int layers, int stages, int chunks, int stage) {

    public LayerPartition {
        if (stages < 1 || chunks < 1) {
            throw new IllegalArgumentException("--pp " + stages + ", --virtual-stages " + chunks + ": each must be at least 1");
        }
        if (stage < 0 || stage >= stages) {
            throw new IllegalArgumentException("pipeline stage " + stage + " outside [0, " + stages + ")");
        }
        if (layers % ((long) stages * chunks) != 0) {
            throw new IllegalArgumentException("the model's " + layers + " layers do not split into --pp " + stages
                    + (chunks > 1 ? " × --virtual-stages " + chunks : "") + " = " + (stages * chunks) + " equal stages; choose"
                    + " a pipeline degree" + (chunks > 1 ? " and virtual stages" : "") + " whose product divides " + layers);
        }
    }

    /**
     * @param layers the model's layer count
     * @return the whole model on one rank
     */
    public static LayerPartition whole(int layers) {
        return new LayerPartition(layers, 1, 1, 0);
    }

    /** @return whether this rank holds every layer (no pipeline) */
    public boolean isWhole() {
        return stages == 1 && chunks == 1;
    }

    /** @return layers per virtual stage, {@code L / (p·v)} */
    public int layersPerChunk() {
        return layers / (stages * chunks);
    }

    /**
     * @param chunk a chunk of this rank, {@code 0 ≤ chunk < v}
     * @return its virtual stage {@code c·p + s}
     */
    public int virtualStage(int chunk) {
        return java.util.Objects.checkIndex(chunk, chunks) * stages + stage;
    }

    /**
     * @param chunk a chunk of this rank
     * @return its first layer
     */
    public int firstLayer(int chunk) {
        return virtualStage(chunk) * layersPerChunk();
    }

    /**
     * @param chunk a chunk of this rank
     * @return one past its last layer
     */
    public int endLayer(int chunk) {
        return firstLayer(chunk) + layersPerChunk();
    }

    /**
     * @param layer a global layer index
     * @return the chunk of this rank that holds it, or -1 if another rank does
     */
    public int chunkOf(int layer) {
        int vs = java.util.Objects.checkIndex(layer, layers) / layersPerChunk();
        return vs % stages == stage ? vs / stages : -1;
    }

    /** @return whether this rank runs virtual stage 0, after the embedding (stage 0) */
    public boolean holdsEmbedding() {
        return stage == 0;
    }

    /** @return whether this rank runs the last virtual stage, before the head (stage p − 1) */
    public boolean holdsHead() {
        return stage == stages - 1;
    }

    /** @return whether this is virtual stage 0 of chunk {@code c}, i.e. the chunk that starts from the embedding */
    public boolean startsModel(int chunk) {
        return virtualStage(chunk) == 0;
    }

    /** @return whether chunk {@code c} is the last virtual stage, which ends in the head */
    public boolean endsModel(int chunk) {
        return virtualStage(chunk) == stages * chunks - 1;
    }
}
