package io.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class CudaDriverTest {

    @Test
    void withoutADriverThereIsNoDeviceAndNoMemoryAndNothingThrows() {
        Assumptions.assumeFalse(Files.exists(Path.of("/proc/driver/nvidia")), "this host has an NVIDIA driver");
        assertEquals(0, CudaDriver.deviceCount());
        assertEquals(0, Devices.hostGpus());
        assertFalse(CudaDriver.memory(0).isPresent());
        assertFalse(Devices.memory(Device.gpu(0)).isPresent());
    }

    @Test
    void onAGpuHostTheDriverCountsDevicesAndReportsMemory() {
        Assumptions.assumeTrue(Devices.usableGpus() > 0, "needs a GPU that the loaded libtorch can use");
        assertTrue(CudaDriver.deviceCount() >= 1);
        try (ai.djl.ndarray.NDManager m = Torch.engine().newBaseManager(Device.gpu(0))) {
            m.zeros(new ai.djl.ndarray.types.Shape(1 << 20)).toFloatArray(); // libtorch's context on cuda:0
            Devices.Memory mem = Devices.memory(Device.gpu(0)).orElseThrow();
            assertTrue(mem.used() > 0 && mem.used() <= mem.total(), mem.toString());
        }
    }
}
