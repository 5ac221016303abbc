package io.tessera.optim.plan.estimate;

/**
 * One kind of link between two GPUs (NVLink inside a node, InfiniBand between nodes, PCIe, or a CPU's
 * memory bus): latency α and bandwidth β as one rank sees them.
 *
 * <p>Thread safety: immutable.
 *
 * @param latencySeconds α, seconds per message (per ring step), at least 0
 * @param bytesPerSecond β, bytes per second one rank sends, positive
 */
public record Link(double latencySeconds, double bytesPerSecond) {

    /** @throws IllegalArgumentException naming the value, the rule and the fix */
    public Link {
        if (!(latencySeconds >= 0) || Double.isInfinite(latencySeconds)) {
            throw new IllegalArgumentException("link latency = " + latencySeconds + " s must be finite and at least 0;"
                    + " pass --latency-us in microseconds, e.g. 5");
        }
        if (!(bytesPerSecond > 0) || Double.isInfinite(bytesPerSecond)) {
            throw new IllegalArgumentException("link bandwidth = " + bytesPerSecond + " B/s must be finite and positive;"
                    + " pass --intra-node-gbps / --inter-node-gbps in GB/s, e.g. 25");
        }
    }
}
