package io.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RngTest {

    @Test
    void aDrawDependsOnlyOnItsSeed() {
        try (NDManager m = Torch.engine().newBaseManager(Device.cpu())) {
            float[] a = Rng.normal(m, new Shape(64), 0f, 1f, 7).toFloatArray();
            Rng.uniform(m, new Shape(1000), 8);   // a draw in between changes nothing
            float[] b = Rng.normal(m, new Shape(64), 0f, 1f, 7).toFloatArray();
            assertArrayEquals(a, b);
            assertFalse(Arrays.equals(a, Rng.normal(m, new Shape(64), 0f, 1f, 9).toFloatArray()));
        }
    }

    /**
     * Initial weights must not depend on the device: CUDA's generator gives other values for the same
     * seed, and which ones depends on the GPU model once a tensor is larger than one wave of the kernel's
     * grid (2^22 elements here is beyond that on any GPU).
     */
    @Test
    void drawsForAGpuEqualTheCpuDraws() {
        assumeTrue(Devices.usableGpus() > 0, "needs a CUDA build of libtorch and a GPU");
        Shape shape = new Shape(1 << 22);
        try (NDManager cpu = Torch.engine().newBaseManager(Device.cpu());
             NDManager gpu = Torch.engine().newBaseManager(Device.gpu(0))) {
            NDArray onGpu = Rng.normal(gpu, shape, 0f, 0.02f, 42);
            assertEquals(Device.gpu(0), onGpu.getDevice());
            assertEquals(gpu, onGpu.getManager());
            assertArrayEquals(Rng.normal(cpu, shape, 0f, 0.02f, 42).toFloatArray(), onGpu.toFloatArray());
            NDArray uniform = Rng.uniform(gpu, shape, 43);
            assertArrayEquals(Rng.uniform(cpu, shape, 43).toFloatArray(), uniform.toFloatArray());
        }
    }
}
