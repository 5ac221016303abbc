package io.tessera.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.charset.StandardCharsets;

/**
 * Seeded random tensors that are a pure function of a 64-bit seed.
 *
 * <p>libtorch's default generator is one per process, shared by every thread; ranks that run as threads
 * would otherwise race on it. Each draw here seeds the generator and draws under one process-wide lock,
 * so a tensor depends only on its seed, never on what other threads drew. Seeds are derived with
 * {@link #mix(long...)} from a base seed and the draw's identity (parameter name, step, layer, rank).
 *
 * <p>Devices: {@link #uniform} and {@link #normal} always draw from the CPU generator and copy the
 * result to the manager's device. libtorch's CUDA generator gives other values for the same seed, and
 * which ones depends on the GPU model (its kernels size their grid by the multiprocessor count), so
 * drawing on the device would make the initial weights differ between the CPU and a GPU, and between
 * ranks on different GPUs. {@link #seeded} runs its operation where the operation runs: dropout on a GPU
 * draws from that device's generator (seeded from the same seed), reproducible on one GPU model.
 *
 * <p>Thread safety: thread-safe.
 */
public final class Rng {

    private static final Object LOCK = new Object();

    private Rng() {}

    /**
     * Runs a libtorch operation that draws from the default generator (dropout, say) with the generator
     * seeded to {@code seed}, under the same lock as every other draw here, so that its result depends
     * only on the seed and its inputs.
     *
     * @param seed the seed
     * @param draw the operation
     * @param <T> its result
     * @return what {@code draw} returned
     */
    public static <T> T seeded(long seed, java.util.function.Supplier<T> draw) {
        synchronized (LOCK) {
            Torch.engine();
            JniUtils.setSeed(seed);
            return draw.get();
        }
    }

    /**
     * Uniform samples in [0, 1).
     *
     * @param manager owner of the result
     * @param shape shape of the result
     * @param seed the seed
     * @return an fp32 tensor on the manager's device, the same values on every device
     */
    public static NDArray uniform(NDManager manager, Shape shape, long seed) {
        return drawOnCpu(manager, seed, cpu -> cpu.randomUniform(0f, 1f, shape, DataType.FLOAT32));
    }

    /**
     * Normal samples.
     *
     * @param manager owner of the result
     * @param shape shape of the result
     * @param mean the mean
     * @param std the standard deviation
     * @param seed the seed
     * @return an fp32 tensor on the manager's device, the same values on every device
     */
    public static NDArray normal(NDManager manager, Shape shape, float mean, float std, long seed) {
        return drawOnCpu(manager, seed, cpu -> cpu.randomNormal(mean, std, shape, DataType.FLOAT32));
    }

    /** Draws with the CPU generator seeded to {@code seed}; the result belongs to {@code manager}, on its device. */
    private static NDArray drawOnCpu(NDManager manager, long seed, java.util.function.Function<NDManager, NDArray> draw) {
        if (Device.Type.CPU.equals(manager.getDevice().getDeviceType())) {
            synchronized (LOCK) {
                Torch.engine();
                JniUtils.setSeed(seed);
                return draw.apply(manager);
            }
        }
        try (NDManager cpu = Torch.engine().newBaseManager(Device.cpu())) {
            NDArray host;
            synchronized (LOCK) {
                JniUtils.setSeed(seed);
                host = draw.apply(cpu);
            }
            NDArray moved = host.toDevice(manager.getDevice(), false);
            moved.attach(manager);
            return moved;
        }
    }

    /**
     * Mixes values into one well-spread seed (SplitMix64 finaliser over a running hash).
     *
     * @param parts values identifying a draw
     * @return a seed
     */
    public static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long p : parts) {
            h = splitmix(h ^ p);
        }
        return h;
    }

    /**
     * Hashes a name (e.g. a parameter's name) for use in {@link #mix(long...)}.
     *
     * @param name the name
     * @return a 64-bit hash
     */
    public static long hash(String name) {
        long h = 0xCBF29CE484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001B3L;
        }
        return splitmix(h);
    }

    private static long splitmix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
