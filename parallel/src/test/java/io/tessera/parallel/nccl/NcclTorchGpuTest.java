package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.TensorMemory;
import io.tessera.core.Torch;
import io.tessera.parallel.nccl.NcclSupport.Status;
import org.junit.jupiter.api.Test;

/**
 * Whether DJL's PyTorch engine works on this machine's GPU: the precondition of every NCCL test on
 * NDArrays. Independent of NCCL (it runs wherever a CUDA driver is found), so that a GPU run tells
 * "DJL cannot load this libtorch" apart from "NCCL fails".
 */
class NcclTorchGpuTest {

    @Test
    void djlLoadsTheMachinesLibtorchAndComputesOnTheGpu() {
        Status s = NcclSupport.probe().status();
        assumeTrue(s != Status.NO_DRIVER && s != Status.UNSUPPORTED_PLATFORM,
                () -> "no CUDA driver here: " + NcclSupport.unavailableReason());
        try (NDManager m = NDManager.newBaseManager(Device.gpu(0))) {
            NDArray x = m.arange(1000f).mul(2);
            float sum = x.sum().toDevice(Device.cpu(), false).getFloat();
            System.out.println("[nccl-gpu] DJL engine " + Torch.engine().getEngineName() + " " + Torch.version() + " on "
                    + x.getDevice() + ", gpu count " + Engine.getInstance().getGpuCount() + ", sum " + sum);
            assertEquals(999_000f, sum);
            assertNotEquals(0L, TensorMemory.address(x), "data_ptr of a CUDA tensor");
        }
    }
}
