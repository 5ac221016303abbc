package io.tessera.train.data;

import java.util.SplittableRandom;

/**
 * Counter-based seeding: every random decision of the data pipeline draws from a
 * {@link SplittableRandom} whose seed is a hash of the run seed, a stream tag and the
 * coordinates of the decision, so that no decision depends on the order in which others
 * were taken.
 *
 * <pre>
 *   construction of BERT instances   random(seed, CONSTRUCTION, documentIndex)
 *   example order of an epoch         random(seed, SHUFFLE, epoch)
 *   masking of one example            random(seed, MASKING, epoch, exampleIndex)
 * </pre>
 *
 * <p>The hash chains SplitMix64's finaliser (Steele, Lea and Flood, 2014), which maps
 * nearby inputs to unrelated outputs.
 *
 * <p>Thread safety: stateless, safe from any thread.
 */
final class Seeds {

    /** Stream tag for building BERT sentence-pair instances. */
    static final long CONSTRUCTION = 1;
    /** Stream tag for the per-epoch permutation of examples. */
    static final long SHUFFLE = 2;
    /** Stream tag for dynamic masking. */
    static final long MASKING = 3;

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private Seeds() {
    }

    /**
     * Hashes a seed and a sequence of keys into one 64-bit seed.
     *
     * @param seed the run seed
     * @param keys the coordinates of the decision (stream tag first)
     * @return a well-mixed seed; equal inputs give equal outputs
     */
    static long mix(long seed, long... keys) {
        long h = splitMix64(seed);
        for (long key : keys) {
            h = splitMix64(h ^ splitMix64(key + GOLDEN_GAMMA));
        }
        return h;
    }

    /**
     * Returns a generator seeded with {@link #mix(long, long...)}.
     *
     * @param seed the run seed
     * @param keys the coordinates of the decision (stream tag first)
     * @return a fresh generator owned by the caller
     */
    static SplittableRandom random(long seed, long... keys) {
        return new SplittableRandom(mix(seed, keys));
    }

    private static long splitMix64(long value) {
        long z = value + GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
