package io.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void parsesEveryFormAndPrintsItBack() {
        for (String s : new String[] {"auto", "cpu", "cuda", "cuda:3"}) {
            assertEquals(s, Devices.parse(s).toString());
        }
        assertEquals(Devices.parse("cuda"), Devices.parse(" GPU "));
        assertEquals(new Devices(Devices.Kind.CUDA_INDEX, 1), Devices.parse("gpu:1"));
    }

    @Test
    void rejectsMalformedRequestsNamingTheValueAndTheForms() {
        for (String s : new String[] {"tpu", "cuda:", "cuda:-1", "cuda:x", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.parse(s));
            assertTrue(e.getMessage().contains("--device " + s) && e.getMessage().contains("cuda:N"), e.getMessage());
        }
    }

    @Test
    void autoTakesTheLocalRanksGpuOrFallsBackToCpu() {
        assertEquals(Device.cpu(), Devices.AUTO.resolve(1, 2, 0, 0));
        assertEquals(Device.cpu(), Devices.AUTO.resolve(1, 2, 0, 4), "a CPU libtorch cannot use the host's GPUs");
        assertEquals(Device.gpu(1), Devices.AUTO.resolve(1, 2, 2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.AUTO.resolve(2, 4, 2, 2));
        assertTrue(e.getMessage().contains("needs cuda:2") && e.getMessage().contains("--device cpu"), e.getMessage());
    }

    @Test
    void cpuIsAlwaysCpu() {
        assertEquals(Device.cpu(), Devices.parse("cpu").resolve(3, 4, 8, 8));
    }

    @Test
    void cudaWithoutAUsableGpuSaysWhyAndHowToFixIt() {
        Devices cuda = Devices.parse("cuda");
        assertEquals(Device.gpu(0), cuda.resolve(0, 1, 1, 1));
        String none = assertThrows(IllegalArgumentException.class, () -> cuda.resolve(0, 1, 0, 0)).getMessage();
        assertTrue(none.contains("no CUDA GPU") && none.contains("--device cpu"), none);
        String cpuBuild = assertThrows(IllegalArgumentException.class, () -> cuda.resolve(0, 1, 0, 2)).getMessage();
        assertTrue(cpuBuild.contains("CPU build") && cpuBuild.contains("PYTORCH_LIBRARY_PATH"), cpuBuild);
    }

    @Test
    void aNamedDeviceServesOneRankPerHost() {
        Devices one = Devices.parse("cuda:1");
        assertEquals(Device.gpu(1), one.resolve(0, 1, 2, 2));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> one.resolve(0, 1, 1, 1)).getMessage().contains("needs cuda:1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> one.resolve(0, 2, 2, 2)).getMessage()
                .contains("distinct devices"));
    }

    @Test
    void thisHostResolvesWithoutLoadingCudaWhenItHasNoGpu() {
        int usable = Devices.usableGpus();
        assertTrue(usable == 0 || usable == Devices.hostGpus(), "usable " + usable + " host " + Devices.hostGpus());
        Device d = Devices.AUTO.resolve(0, 1);
        assertEquals(usable > 0, d.isGpu());
        assertEquals(d.isGpu(), Devices.memory(d).isPresent());
        assertFalse(Devices.memory(Device.cpu()).isPresent());
    }
}
