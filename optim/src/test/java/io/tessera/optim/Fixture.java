package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.nn.Partition;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Small parameter buffers with known values for optimizer tests: deterministic, irregular values so that
 * every element moves differently, and plain-Java copies of them for hand-computed references.
 */
public final class Fixture {

    private Fixture() {}

    /**
     * Element {@code i} of tensor {@code k}'s deterministic values.
     *
     * @param k tensor index
     * @param i element index
     * @param scale magnitude
     * @return the value
     */
    public static double value(int k, int i, double scale) {
        return scale * Math.sin(0.9 * i + 1.7 * k + 0.3) * (1 + 0.25 * ((i + k) % 3));
    }

    /**
     * @param k tensor index
     * @param n elements
     * @param scale magnitude
     * @return deterministic values
     */
    public static double[] values(int k, long n, double scale) {
        double[] v = new double[(int) n];
        for (int i = 0; i < n; i++) {
            v[i] = value(k, i, scale);
        }
        return v;
    }

    /**
     * @param values doubles
     * @return the same values rounded to fp32 and back, as the buffers hold them
     */
    public static double[] asFloat(double[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /**
     * @param values doubles
     * @return fp32 copies
     */
    public static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /**
     * A four-tensor model: a decayed weight [2, 3], a bias [3] and a LayerNorm gain [3] (no decay), and an
     * all-zero decayed weight [2, 2] (its norm is 0).
     *
     * @return parameters by name, in buffer order
     */
    public static Map<String, Parameter> model() {
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put("weight", parameter(new Shape(2, 3), values(0, 6, 0.5), Partition.REPLICATED, true));
        params.put("bias", parameter(new Shape(3), values(1, 3, 0.1), Partition.REPLICATED, false));
        params.put("gamma", parameter(new Shape(3), values(2, 3, 0.2), Partition.REPLICATED, false));
        params.put("zero", parameter(new Shape(2, 2), new double[4], Partition.REPLICATED, true));
        return params;
    }

    /**
     * Gradients of step {@code step} for a buffer of {@code n} elements.
     *
     * @param step the step, from 0
     * @param n elements
     * @return deterministic gradients, larger at later steps
     */
    public static double[] grads(int step, long n) {
        return values(20 + 5 * step, n, 1e-2 * (step + 1));
    }

    /**
     * A parameter whose full value is the fixed array {@code full}.
     *
     * @param fullShape shape of the whole tensor
     * @param full its values, row-major
     * @param partition this rank's split
     * @param weightDecay whether decay applies
     * @return the parameter
     */
    public static Parameter parameter(Shape fullShape, double[] full, Partition partition, boolean weightDecay) {
        float[] values = floats(full);
        return Parameter.of(fullShape, partition, (m, s, seed) -> m.create(values, s), weightDecay);
    }

    /**
     * @param parameters parameters by local name, in buffer order
     * @param manager parent of the buffer
     * @return an allocated buffer holding them
     */
    public static ParameterBuffer buffer(Map<String, Parameter> parameters, NDManager manager) {
        return ParameterBuffer.allocate(new Holder(parameters), 1234, manager);
    }

    /**
     * Writes values into a flat array.
     *
     * @param flat destination
     * @param values new values
     */
    public static void set(NDArray flat, double[] values) {
        try (NDArray src = flat.getManager().create(floats(values), flat.getShape())) {
            Tensors.copyInto(flat, src);
        }
    }

    /**
     * @param flat an fp32 array
     * @return its values as doubles
     */
    public static double[] read(NDArray flat) {
        float[] f = flat.toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** A module that only holds parameters. */
    static final class Holder extends Module {
        Holder(Map<String, Parameter> parameters) {
            for (Map.Entry<String, Parameter> e : new LinkedHashMap<>(parameters).entrySet()) {
                register(e.getKey(), e.getValue());
            }
        }
    }
}
