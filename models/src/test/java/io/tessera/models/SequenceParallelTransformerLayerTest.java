package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.PartitionedTensors;
import io.tessera.parallel.tensor.SequenceParallel;
import io.tessera.parallel.tensor.TpTesting;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A stack of two {@link TransformerLayer}s with sequence parallelism at tensor-parallel degree 2
 * (between {@link SequenceParallel#scatter} and {@link SequenceParallel#gather}) gives the outputs, input
 * gradients and every gathered parameter gradient of the same stack without sequence parallelism at
 * degree 2 and at degree 1, within 1e-5 relative (per tensor, in Hugging Face layout), for GPT-2
 * (pre-LN, causal), BERT (post-LN), Megatron-BERT (pre-LN) and DistilBERT, with padding and dropout 0.
 * Attention key biases have an exact gradient of zero (softmax ignores a per-query shift), so theirs
 * are compared by absolute difference, bounded by {@link #KEY_BIAS_REL} of the run's largest parameter
 * gradient (their float residue scales with the gradients it cancels). With dropout on, the replicated parameters' gradients stay
 * identical on every rank; a sequence the degree does not divide fails with the fix.
 */
class SequenceParallelTransformerLayerTest {

    static final int B = 2;
    static final int T = 8;
    static final int LAYERS = 2;
    /** A key bias's gradient and its difference stay within this fraction of the largest parameter gradient. */
    static final double KEY_BIAS_REL = 1e-5;

    /** Output and input gradient (whole sequence) and gathered gradients in Hugging Face layout, of one rank. */
    record Run(float[] y, float[] dx, Map<String, float[]> grads) {}

    /** Layers {@code 0} and {@code 1}, as a root for a parameter buffer. */
    static final class Stack extends Module {
        final List<TransformerLayer> layers = new ArrayList<>();

        Stack(TransformerConfig config, ParallelContext pc, boolean checkpoint, boolean sequenceParallel) {
            for (int i = 0; i < LAYERS; i++) {
                layers.add(register(Integer.toString(i), TransformerLayer.of(config, pc, checkpoint, sequenceParallel)));
            }
        }

        Map<Parameter, HfLayout> hfLayouts(int degree) {
            Map<Parameter, HfLayout> out = new HashMap<>();
            layers.forEach(l -> out.putAll(l.hfLayouts(degree)));
            return out;
        }
    }

    static List<Run> run(TransformerConfig config, int degree, boolean sequenceParallel, boolean checkpoint, boolean training) {
        return run(config, degree, sequenceParallel, checkpoint, training, LocalCluster.Backend.IN_PROCESS);
    }

    static List<Run> run(TransformerConfig config, int degree, boolean sequenceParallel, boolean checkpoint, boolean training,
                         LocalCluster.Backend backend) {
        return TpTesting.run(degree, backend, pc -> {
            Stack stack = new Stack(config, pc, checkpoint, sequenceParallel);
            Map<Parameter, HfLayout> layouts = stack.hfLayouts(degree);
            try (NDManager m = NDManager.newBaseManager();
                 ParameterBuffer buf = ParameterBuffer.allocate(stack, ModelTesting.MODEL_SEED, m);
                 Tape tape = new Tape(m, 99, training)) {
                perturb(buf, layouts, m);
                Var x = tape.variable(Rng.normal(m, new Shape(B, T, config.hiddenSize()), 0f, 1f, 5));
                Var mask = tape.constant(m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, new Shape(B, T)));
                Var h = sequenceParallel ? SequenceParallel.scatter(tape, pc.tensor(), "scatter", x) : x;
                for (int i = 0; i < LAYERS; i++) {
                    h = stack.layers.get(i).forward(tape, "h." + i, h, mask);
                }
                Var y = sequenceParallel ? SequenceParallel.gather(tape, pc.tensor(), "gather", h) : h;
                tape.backward(y, Rng.normal(m, y.value().getShape(), 0f, 1f, 6));
                Map<String, float[]> grads = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> e : buf.parameters().entrySet()) {
                    Parameter p = e.getValue();
                    NDArray full = PartitionedTensors.gather(pc.tensor(), m, p.grad(), p.partition());
                    grads.put(e.getKey(), layouts.getOrDefault(p, HfLayout.IDENTITY).toHf(full).toFloatArray());
                }
                return new Run(y.value().toFloatArray(), x.grad().toFloatArray(), grads);
            }
        });
    }

    /** Adds N(0, 0.15²) drawn in Hugging Face layout, the same at every degree, so that LayerNorms and biases are not trivial. */
    static void perturb(ParameterBuffer buf, Map<Parameter, HfLayout> layouts, NDManager m) {
        for (Map.Entry<String, Parameter> e : buf.parameters().entrySet()) {
            Parameter p = e.getValue();
            HfLayout layout = layouts.getOrDefault(p, HfLayout.IDENTITY);
            NDArray hf = Rng.normal(m, layout.hfShape(p.fullShape()), 0f, 0.15f, Rng.hash(e.getKey()));
            p.data().addi(ParameterBuffer.localSlice(layout.fromHf(hf, p.fullShape()), p.partition()));
        }
    }

    static void assertSame(Run expected, Run actual, String what) {
        TpTesting.assertClose(expected.y(), actual.y(), 1e-5, what + " output");
        TpTesting.assertClose(expected.dx(), actual.dx(), 1e-5, what + " input gradient");
        assertTrue(expected.grads().keySet().equals(actual.grads().keySet()), what + ": parameter names differ");
        double largest = 0;
        for (float[] g : expected.grads().values()) {
            for (float v : g) {
                largest = Math.max(largest, Math.abs(v));
            }
        }
        double keyBiasBound = KEY_BIAS_REL * largest;
        for (String name : expected.grads().keySet()) {
            float[] e = expected.grads().get(name);
            float[] a = actual.grads().get(name);
            if (name.endsWith("key.bias") || name.endsWith("k_lin.bias")) {
                double diff = 0;
                double scale = 0;
                for (int i = 0; i < e.length; i++) {
                    diff = Math.max(diff, Math.abs(a[i] - e[i]));
                    scale = Math.max(scale, Math.abs(e[i]));
                }
                assertTrue(scale <= keyBiasBound && diff <= keyBiasBound, what + " gradient of " + name
                        + ": a key bias's gradient is zero; got max |expected| " + scale + ", max abs diff " + diff
                        + ", bound " + keyBiasBound + " (" + KEY_BIAS_REL + " of the largest gradient, " + largest + ")");
            } else {
                TpTesting.assertClose(e, a, 1e-5, what + " gradient of " + name);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"GPT2", "BERT", "MEGATRON_BERT", "DISTILBERT"})
    void sequenceParallelStackMatchesDegreeTwoAndDegreeOne(Kind kind) {
        TransformerConfig config = kind.config();
        Run reference = run(config, 1, false, false, true).get(0);
        List<Run> tensorParallel = run(config, 2, false, false, true);
        List<Run> sequenceParallel = run(config, 2, true, false, true);
        for (int r = 0; r < 2; r++) {
            assertSame(reference, tensorParallel.get(r), kind + " degree 2 rank " + r);
            assertSame(reference, sequenceParallel.get(r), kind + " sequence-parallel degree 2 rank " + r + " vs degree 1");
            assertSame(tensorParallel.get(r), sequenceParallel.get(r), kind + " sequence-parallel vs not, degree 2 rank " + r);
        }
    }

    @Test
    void checkpointedSequenceParallelStackMatchesDegreeOne() {
        TransformerConfig config = Kind.GPT2.config();
        Run reference = run(config, 1, false, false, true).get(0);
        List<Run> ranks = run(config, 2, true, true, true);
        for (int r = 0; r < 2; r++) {
            assertSame(reference, ranks.get(r), "checkpointed sequence-parallel GPT-2 rank " + r);
        }
    }

    /** The sequence collectives over the Netty backend, as separate processes would run them. */
    @Test
    void sequenceParallelStackOverNettyMatchesDegreeOne() {
        TransformerConfig config = Kind.BERT.config();
        Run reference = run(config, 1, false, false, true).get(0);
        List<Run> ranks = run(config, 2, true, false, true, LocalCluster.Backend.NETTY);
        for (int r = 0; r < 2; r++) {
            assertSame(reference, ranks.get(r), "sequence-parallel BERT over Netty rank " + r);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"GPT2", "BERT"})
    void withDropoutReplicatedGradientsStayIdenticalAcrossTheGroup(Kind kind) {
        TransformerConfig config = kind.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        List<Run> ranks = run(config, 2, true, false, true);
        Run noDropout = run(config, 2, true, false, false).get(0);
        assertFalse(Arrays.equals(noDropout.y(), ranks.get(0).y()), "dropout must be active while training");
        TpTesting.assertClose(ranks.get(0).y(), ranks.get(1).y(), 0, "gathered output");
        for (String name : ranks.get(0).grads().keySet()) {
            TpTesting.assertSameOnEveryRank(List.of(ranks.get(0).grads().get(name), ranks.get(1).grads().get(name)),
                    kind + " gradient of " + name);
        }
    }

    @Test
    void sequenceNotDivisibleByTheDegreeFailsNamingTheFix() {
        TransformerConfig config = Kind.GPT2.config();
        List<String> messages = TpTesting.run(2, pc -> {
            TransformerLayer layer = TransformerLayer.of(config, pc, false, true);
            assertTrue(layer.sequenceParallel() && !TransformerLayer.of(config, pc, false).sequenceParallel());
            try (NDManager m = NDManager.newBaseManager(); Tape tape = new Tape(m, 1, true)) {
                Var x = tape.variable(m.zeros(new Shape(B, 7, config.hiddenSize())));
                return assertThrows(IllegalArgumentException.class, () -> SequenceParallel.scatter(tape, pc.tensor(), "scatter", x))
                        .getMessage();
            }
        });
        for (String msg : messages) {
            assertTrue(msg.contains("sequence length T = 7") && msg.contains("tensor-parallel degree 2")
                    && msg.contains("T = 8"), msg);
        }
    }
}
