package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.nn.Partition;
import io.tessera.optim.clip.GradientNorm;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Gradient clipping and LAMB on 4 in-process ranks (tensor-parallel 2 × data-parallel 2) against the
 * degree-1 run: same global norm, same clipped gradients, same parameters after LAMB steps. The model
 * has a column-parallel weight and bias (split on dim 0), a row-parallel weight (split on dim 1) and a
 * replicated LayerNorm gain and bias, so replicated tensors must be counted once and split ones summed
 * over the tensor group; with ZeRO shards the tensors cut between data-parallel ranks are summed over
 * the data group too.
 */
class ParallelDegreeOneTest {

    private static final ParallelLayout LAYOUT = ParallelLayout.of(4, 2, 1);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final double[] LRS = {0.05, 0.02};

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    /** The model as tensor rank {@code rank} of {@code degree} holds it; degree 1 is the reference. */
    static Map<String, Parameter> model(int rank, int degree) {
        Map<String, Parameter> p = new LinkedHashMap<>();
        p.put("dense_weight", Fixture.parameter(new Shape(4, 6), Fixture.values(0, 24, 0.5), Partition.split(0, rank, degree), true));
        p.put("dense_bias", Fixture.parameter(new Shape(4), Fixture.values(1, 4, 0.1), Partition.split(0, rank, degree), false));
        p.put("out_weight", Fixture.parameter(new Shape(6, 4), Fixture.values(2, 24, 0.4), Partition.split(1, rank, degree), true));
        p.put("ln_gamma", Fixture.parameter(new Shape(6), Fixture.values(3, 6, 0.3), Partition.REPLICATED, false));
        p.put("out_bias", Fixture.parameter(new Shape(6), Fixture.values(4, 6, 0.1), Partition.REPLICATED, false));
        return p;
    }

    /** Writes this rank's slice of the full gradients of {@code step} into the buffer. */
    static void setGradients(ParameterBuffer buffer, int step) {
        int k = 0;
        for (Parameter p : buffer.list()) {
            try (NDManager tmp = manager.newSubManager()) {
                NDArray full = tmp.create(Fixture.floats(Fixture.values(40 + k, p.fullShape().size(), 0.05 * (step + 1))),
                        p.fullShape());
                Tensors.copyInto(p.grad(), ParameterBuffer.localSlice(full, p.partition()));
            }
            k++;
        }
    }

    /** This rank's slices of a degree-1 buffer's flat array, laid out like the rank's own buffer. */
    static double[] localSlices(ParameterBuffer reference, boolean grads, ParameterBuffer local) {
        List<Double> out = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : local.parameters().entrySet()) {
            Parameter full = reference.parameters().get(e.getKey());
            NDArray value = grads ? full.grad() : full.data();
            for (double x : Fixture.read(ParameterBuffer.localSlice(value, e.getValue().partition()).flatten())) {
                out.add(x);
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] slice(double[] a, FlatRange r) {
        return java.util.Arrays.copyOfRange(a, (int) r.bufferOffset(), (int) (r.bufferOffset() + r.length()));
    }

    /** What one rank reports: its norm and the values it holds, with the reference's values for them. */
    record Outcome(double norm, double[] actual, double[] expected) {}

    private static List<Outcome> run(Function<ParallelContext, Outcome> body) {
        List<Outcome> out = LocalCluster.run(LAYOUT, TIMEOUT, body);
        assertEquals(LAYOUT.world(), out.size());
        return out;
    }

    @Test
    void clippingWithSplitAndReplicatedGradientsEqualsDegreeOne() {
        for (Sharding sharding : Sharding.values()) {
            try (ParameterBuffer reference = Fixture.buffer(model(0, 1), manager)) {
                setGradients(reference, 0);
                GradientNorm.Result want = GradientNorm.of(FlatRange.of(reference), ParallelContext.single(), Sharding.REPLICATED)
                        .clip(reference.grads(), 0.1);
                assertTrue(want.clipped(), "the reference must clip for this test to mean anything");
                List<Outcome> ranks = run(ctx -> {
                    try (NDManager m = Torch.engine().newBaseManager();
                         ParameterBuffer local = Fixture.buffer(model(ctx.tensorRank(), ctx.tensorSize()), m)) {
                        setGradients(local, 0);
                        FlatRange range = sharding == Sharding.PARTITIONED
                                ? FlatRange.shard(local, ctx.dataSize(), ctx.dataRank()) : FlatRange.of(local);
                        NDArray grads = range.view(local.grads());
                        GradientNorm.Result r = GradientNorm.of(range, ctx, sharding).clip(grads, 0.1);
                        return new Outcome(r.norm(), Fixture.read(grads), slice(localSlices(reference, true, local), range));
                    }
                });
                for (int rank = 0; rank < ranks.size(); rank++) {
                    Outcome o = ranks.get(rank);
                    assertEquals(want.norm(), o.norm(), 1e-6 * want.norm(), sharding + " norm on rank " + rank);
                    assertArrayEquals(o.expected(), o.actual(), 1e-7, sharding + " clipped gradients on rank " + rank);
                }
            }
        }
    }

    @Test
    void lambWithSplitTensorsAndZeroShardsEqualsDegreeOne() {
        for (boolean adaptNoDecay : new boolean[] {false, true}) {
            for (Sharding sharding : Sharding.values()) {
                checkLamb(Lamb.Config.builder().weightDecay(0.1).adaptNoDecay(adaptNoDecay).build(), sharding);
            }
        }
    }

    private void checkLamb(Lamb.Config config, Sharding sharding) {
        try (ParameterBuffer reference = Fixture.buffer(model(0, 1), manager);
             Lamb lamb = new Lamb(config, FlatRange.of(reference), manager)) {
            for (int step = 0; step < LRS.length; step++) {
                setGradients(reference, step);
                lamb.step(reference.params(), reference.grads(), LRS[step]);
            }
            List<Outcome> ranks = run(ctx -> {
                try (NDManager m = Torch.engine().newBaseManager();
                     ParameterBuffer local = Fixture.buffer(model(ctx.tensorRank(), ctx.tensorSize()), m)) {
                    FlatRange range = sharding == Sharding.PARTITIONED
                            ? FlatRange.shard(local, ctx.dataSize(), ctx.dataRank()) : FlatRange.of(local);
                    if (sharding == Sharding.PARTITIONED) {
                        assertTrue(range.segments().stream().anyMatch(s -> s.weightDecay() && !s.complete()),
                                "a ZeRO shard must cut an adapted tensor for this test to mean anything");
                    }
                    try (Lamb opt = new Lamb(config, range, m, TensorNorms.of(ctx, sharding))) {
                        for (int step = 0; step < LRS.length; step++) {
                            setGradients(local, step);
                            opt.step(range.view(local.params()), range.view(local.grads()), LRS[step]);
                        }
                    }
                    return new Outcome(0, Fixture.read(range.view(local.params())),
                            slice(localSlices(reference, false, local), range));
                }
            });
            for (int rank = 0; rank < ranks.size(); rank++) {
                assertArrayEquals(ranks.get(rank).expected(), ranks.get(rank).actual(), 2e-7,
                        config + ", " + sharding + ": parameters after LAMB on rank " + rank);
            }
        }
    }

    @Test
    void lambWithoutTensorGroupNormsDiffersFromDegreeOne() {
        Lamb.Config config = Lamb.Config.builder().weightDecay(0.1).build();
        try (ParameterBuffer reference = Fixture.buffer(model(0, 1), manager);
             Lamb lamb = new Lamb(config, FlatRange.of(reference), manager)) {
            setGradients(reference, 0);
            lamb.step(reference.params(), reference.grads(), LRS[0]);
            List<Outcome> ranks = run(ctx -> {
                try (NDManager m = Torch.engine().newBaseManager();
                     ParameterBuffer local = Fixture.buffer(model(ctx.tensorRank(), ctx.tensorSize()), m);
                     Lamb opt = new Lamb(config, FlatRange.of(local), m)) {
                    setGradients(local, 0);
                    opt.step(local.params(), local.grads(), LRS[0]);
                    return new Outcome(0, Fixture.read(local.params()), localSlices(reference, false, local));
                }
            });
            double worst = 0;
            for (Outcome o : ranks) {
                for (int i = 0; i < o.actual().length; i++) {
                    worst = Math.max(worst, Math.abs(o.actual()[i] - o.expected()[i]));
                }
            }
            assertTrue(worst > 1e-4, "local norms of split tensors must give a different update (control), got " + worst);
        }
    }
}
