package io.tessera.optim.plan.estimate;

import java.util.Locale;

/**
 * The machine a layout runs on: each device's peak dense matrix rate, the fraction of it a large
 * Transformer GEMM achieves, GPUs per node, and the links inside and between nodes (per GPU).
 *
 * <p>The named GPUs carry NVIDIA's published peak dense fp16/bf16 tensor rates and link figures
 * (README, "Step-time estimate", cites the data sheets); the inter-node bandwidth is per GPU, one
 * InfiniBand adapter per GPU as in a DGX: HDR 200 Gb/s = 25 GB/s, NDR 400 Gb/s = 50 GB/s. V100 DGX-1/2
 * nodes had 100 Gb/s EDR adapters (12.5 GB/s); NVLink figures are the total per GPU, both directions,
 * so one direction is half. Latency 5 µs per ring step is an assumption, not a datasheet figure.
 *
 * <p>Thread safety: immutable.
 *
 * @param name a label for the printout
 * @param peakFlops peak dense matrix FLOP/s per device
 * @param achievable fraction of the peak a step's GEMMs reach, in (0, 1]
 * @param gpusPerNode devices sharing the intra-node link
 * @param intraNode the link inside a node
 * @param interNode the link between nodes, per device
 * @param opCosts seconds per element of the non-GEMM work ({@link NonGemmWork}); {@link OpCosts#NONE} for
 *     the named GPUs (no figures: the term is 0 there), measured by {@code bin/tessera bench ops} for a CPU
 */
public record Cluster(String name, double peakFlops, double achievable, int gpusPerNode, Link intraNode, Link interNode,
                      OpCosts opCosts) {

    /** A cluster without non-GEMM figures ({@link OpCosts#NONE}). */
    public Cluster(String name, double peakFlops, double achievable, int gpusPerNode, Link intraNode, Link interNode) {
        this(name, peakFlops, achievable, gpusPerNode, intraNode, interNode, OpCosts.NONE);
    }

    /** Default latency per message, seconds. */
    public static final double DEFAULT_LATENCY = 5e-6;

    /** @throws IllegalArgumentException naming the value, the rule and the fix */
    public Cluster {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("cluster name is blank: give a label such as \"a100\"");
        }
        if (!(peakFlops > 0) || Double.isInfinite(peakFlops)) {
            throw new IllegalArgumentException("peak = " + peakFlops + " FLOP/s must be positive; pass --peak-tflops, e.g. 312");
        }
        if (!(achievable > 0 && achievable <= 1)) {
            throw new IllegalArgumentException("achievable = " + achievable + " must lie in (0, 1]; pass --achievable, e.g. 0.6");
        }
        if (gpusPerNode < 1) {
            throw new IllegalArgumentException("gpus per node = " + gpusPerNode + " must be at least 1; pass --gpus-per-node, e.g. 8");
        }
        if (intraNode == null || interNode == null) {
            throw new IllegalArgumentException("links are null: give the intra-node and inter-node Link");
        }
        if (opCosts == null) {
            throw new IllegalArgumentException("op costs are null: give OpCosts.NONE for no non-GEMM figures");
        }
    }

    /**
     * A named GPU in an 8-GPU node with the published figures.
     *
     * <pre>
     *   v100  125 TFLOP/s, NVLink 2 300 GB/s (150 one way), EDR 100 Gb/s per GPU (12.5 GB/s)
     *   a100  312 TFLOP/s, NVLink 3 600 GB/s (300 one way), HDR 200 Gb/s per GPU (25 GB/s)
     *   h100  989 TFLOP/s, NVLink 4 900 GB/s (450 one way), NDR 400 Gb/s per GPU (50 GB/s)
     * </pre>
     *
     * @param gpu v100, a100 or h100, any case
     * @param achievable fraction of the peak reached
     * @return the cluster
     * @throws IllegalArgumentException for another name
     */
    public static Cluster of(String gpu, double achievable) {
        String g = gpu == null ? "" : gpu.trim().toLowerCase(Locale.ROOT);
        return switch (g) {
            case "v100" -> gpu(g, 125, achievable, 150, 12.5);
            case "a100" -> gpu(g, 312, achievable, 300, 25);
            case "h100" -> gpu(g, 989, achievable, 450, 50);
            default -> throw new IllegalArgumentException("unknown gpu \"" + gpu + "\"; known: v100, a100, h100"
                    + " (and cpu, which needs measured figures: see Cluster.cpu);"
                    + " or give --peak-tflops, --intra-node-gbps, --inter-node-gbps and --gpus-per-node");
        };
    }

    /**
     * One host's CPU cores as the devices of a layout, calibrated by measurement: a "device" is one rank with
     * its share of the cores, its rate the fp32 product ceiling measured with that many threads
     * ({@code bin/tessera bench ceiling --threads T}), and every group's link the all-reduce bus bandwidth
     * measured between local processes ({@code bin/tessera bench collectives}). The ring model's β is that
     * bus bandwidth: nccl-tests define {@code busbw = 2(n−1)/n · S / t} for an all-reduce, which is
     * {@link CollectiveCost#allReduce}'s bandwidth term solved for β.
     *
     * <pre>
     *   peak        = measured ceiling per rank (achievable 1: the ceiling already is what a product reaches)
     *   gpusPerNode = ranks (all on one host, one link)
     *   link        = (α, measured busbw) inside and "between" nodes alike
     *   opCosts     = seconds per element of each non-GEMM class, measured with one rank's threads
     *                 ({@code bin/tessera bench ops --threads T --json FILE})
     * </pre>
     *
     * @param ceilingFlops measured fp32 GEMM FLOP/s of one rank's threads
     * @param ranks processes sharing the host
     * @param link α and the measured bus bandwidth
     * @param opCosts the measured non-GEMM costs
     * @return the cluster
     * @throws IllegalArgumentException naming a bad figure
     */
    public static Cluster cpu(double ceilingFlops, int ranks, Link link, OpCosts opCosts) {
        return new Cluster("cpu", ceilingFlops, 1, ranks, link, link, opCosts);
    }

    /**
     * {@link #cpu(double, int, Link, OpCosts)} without non-GEMM figures: products and links only.
     *
     * @param ceilingFlops measured fp32 GEMM FLOP/s of one rank's threads
     * @param ranks processes sharing the host
     * @param link α and the measured bus bandwidth
     * @return the cluster
     */
    public static Cluster cpu(double ceilingFlops, int ranks, Link link) {
        return cpu(ceilingFlops, ranks, link, OpCosts.NONE);
    }

    private static Cluster gpu(String name, double tflops, double achievable, double intraGBps, double interGBps) {
        return new Cluster(name, tflops * 1e12, achievable, 8, new Link(DEFAULT_LATENCY, intraGBps * 1e9),
                new Link(DEFAULT_LATENCY, interGBps * 1e9));
    }

    /** @return FLOP/s a device sustains, {@code peak · achievable} */
    public double sustainedFlops() {
        return peakFlops * achievable;
    }

    /**
     * @param span devices a group's ranks are spread over (consecutive ranks)
     * @return the intra-node link when {@code span ≤ gpusPerNode}, else the inter-node one
     */
    public Link linkFor(int span) {
        return span <= gpusPerNode ? intraNode : interNode;
    }
}
