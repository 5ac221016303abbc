package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.albert.AlbertForPreTraining;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.AlbertShape;
import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TpTesting;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shared ALBERT layer is one parameter: its gradient is the sum of its uses' gradients, the flat
 * buffer (what ZeRO partitions) and the exported checkpoint hold it once, and the checkpoint loads back.
 *
 * <p>The reference for the sum is the same network unshared: 4 groups (one per depth step) whose
 * weights are copies of the shared model's, so its loss is the shared model's and the gradient of a
 * shared layer must equal the sum of its copies' gradients.
 */
class AlbertSharingTest {

    private static final Pattern GROUP = Pattern.compile("albert\\.encoder\\.albert_layer_groups\\.(\\d+)\\.(.*)");

    @Test
    void sharedGradientIsTheSumOverUses() {
        TransformerConfig shared = AlbertTesting.config();                               // G = 2, K = 2, L = 4
        TransformerConfig unshared = AlbertTesting.config(new AlbertShape(16, 4, 2, 0)); // step l runs group l
        Result[] results = TpTesting.run(1, pc -> {
            AlbertForPreTraining s = new AlbertForPreTraining(shared, pc);
            AlbertForPreTraining u = new AlbertForPreTraining(unshared, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer sb = ParameterBuffer.allocate(s, 3, m);
                 ParameterBuffer ub = ParameterBuffer.allocate(u, 4, m)) {
                ModelTesting.perturb(s, m, 0.15f);
                Map<String, Parameter> sp = s.namedParameters();
                for (Map.Entry<String, Parameter> e : u.namedParameters().entrySet()) {
                    String from = e.getKey();
                    Matcher g = GROUP.matcher(from);
                    if (g.matches()) {
                        int step = Integer.parseInt(g.group(1));
                        from = "albert.encoder.albert_layer_groups." + shared.albert().groupOf(step, 4) + "." + g.group(2);
                    }
                    e.getValue().data().set(sp.get(from).data().toFloatArray());
                }
                TokenBatch batch = AlbertTesting.batch(m);
                return new Result[] {AlbertTesting.step(s, pc, m, batch), AlbertTesting.step(u, pc, m, AlbertTesting.batch(m))};
            }
        }).get(0);
        Result s = results[0];
        Result u = results[1];
        TpTesting.assertClose(new float[] {u.loss()}, new float[] {s.loss()}, 1e-6, "shared vs unshared loss");
        int sharedTensors = 0;
        for (Map.Entry<String, float[]> e : s.grads().entrySet()) {
            Matcher g = GROUP.matcher(e.getKey());
            if (!g.matches()) {
                TpTesting.assertClose(u.grads().get(e.getKey()), e.getValue(), 1e-5, e.getKey());
                continue;
            }
            sharedTensors++;
            int group = Integer.parseInt(g.group(1));
            float[] sum = new float[e.getValue().length];
            float[] firstUse = null;
            for (int step = 0; step < 4; step++) {
                if (shared.albert().groupOf(step, 4) == group) {
                    float[] use = u.grads().get("albert.encoder.albert_layer_groups." + step + "." + g.group(2));
                    firstUse = firstUse == null ? use : firstUse;
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += use[i];
                    }
                }
            }
            TpTesting.assertClose(sum, e.getValue(), 1e-5, e.getKey() + " vs the sum of its two uses");
            if (!e.getKey().endsWith("attention.key.bias")) {
                assertTrue(maxAbsDiff(firstUse, e.getValue()) > 1e-4 * maxAbs(e.getValue()),
                        e.getKey() + ": the second use must contribute");
            }
        }
        assertEquals(2 * 2 * 16, sharedTensors, "16 tensors per layer, G·K = 4 distinct layers");
    }

    @Test
    void bufferAndCheckpointHoldEachSharedTensorOnce(@TempDir Path dir) throws Exception {
        TransformerConfig config = AlbertTesting.config();
        TpTesting.run(1, pc -> {
            AlbertForPreTraining model = new AlbertForPreTraining(config, pc);
            AlbertForPreTraining copy = new AlbertForPreTraining(config, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m);
                 ParameterBuffer other = ParameterBuffer.allocate(copy, 6, m)) {
                long expected = ParameterCount.ofPaddedVocab(config, ModelVariant.PRETRAINING_MODEL, 1).total();
                assertEquals(expected, buf.numel(), "flat buffer (what ZeRO partitions) = exact count, shared layers once");
                ModelTesting.perturb(model, m, 0.15f);
                HfCheckpoint.save(model, dir);
                Map<String, NDArray> file = Safetensors.load(dir.resolve(HfCheckpoint.WEIGHTS_FILE), m);
                TreeSet<String> groups = new TreeSet<>();
                long elements = 0;
                for (Map.Entry<String, NDArray> e : file.entrySet()) {
                    elements += e.getValue().size();
                    Matcher g = GROUP.matcher(e.getKey());
                    if (g.matches()) {
                        groups.add(g.group(1) + "." + g.group(2).substring(0, g.group(2).indexOf('.', "albert_layers.".length())));
                    }
                }
                assertEquals(ParameterCount.of(config, ModelVariant.PRETRAINING_MODEL).total(), elements,
                        "the checkpoint holds every shared tensor once");
                assertEquals(new TreeSet<>(java.util.List.of("0.albert_layers.0", "0.albert_layers.1", "1.albert_layers.0",
                        "1.albert_layers.1")), groups);
                assertEquals(model.hfTensors().size(), file.size());
                HfCheckpoint.load(copy, dir);
                Map<String, Parameter> loaded = copy.namedParameters();
                model.namedParameters().forEach((name, p) ->
                        assertArrayEquals(p.data().toFloatArray(), loaded.get(name).data().toFloatArray(), name));
                return null;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
