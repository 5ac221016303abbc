package io.tessera.benchmarks.ceiling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.tessera.core.Devices;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The ceiling's measurement rows: which backends and types it times, on the CPU and in the GPU's
 * batched, synchronised sampling (run here on the CPU through the sample-size constructor).
 */
class MatmulCeilingTest {

    private static final MatmulShape SMALL = new MatmulShape(64, 32, 48);

    @Test
    void cpuRowsAreLibtorchOpenBlasFp16ThenBf16Unsupported() {
        List<MatmulMeasurement> rows = new MatmulCeiling(List.of(SMALL), 1, 3, 1, true, true, quiet()).measure();
        assertEquals(List.of("libtorch/fp32", "openblas/fp32", "libtorch/fp16", "libtorch/bf16"), labels(rows));
        assertTrue(rows.get(0).measured() && rows.get(1).measured(), rows.toString());
        assertEquals(3, rows.get(0).samples().count());
        assertTrue(rows.get(1).maxRelativeError() < 1e-5, "OpenBLAS against libtorch: " + rows.get(1).maxRelativeError());
        assertEquals(MatmulMeasurement.Status.UNSUPPORTED, rows.get(3).status());
    }

    @Test
    void theGpuSamplingLeavesOpenBlasOutOnAGpuAndTimesLibtorchDirectly() {
        // the GPU path's code on the CPU: NDArray.matMul (not a Gemm strategy, which takes CPU tensors only),
        // several products per synchronised sample
        List<MatmulMeasurement> rows = new MatmulCeiling(List.of(SMALL), 1, 2, 1, false, true, Device.cpu(), 4, quiet())
                .measure();
        assertEquals(List.of("libtorch/fp32", "libtorch/fp16", "libtorch/bf16"), labels(rows));
        MatmulMeasurement fp32 = rows.get(0);
        assertTrue(fp32.measured() && fp32.bestGflops() > 0 && Double.isFinite(fp32.bestGflops()), fp32.toString());
        assertEquals(2, fp32.samples().count(), "one sample per rep, each the mean of 4 products");
        assertTrue(rows.get(1).measured(), rows.get(1).toString());
        assertTrue(rows.get(1).maxRelativeError() < 1e-2, "fp16 against fp32: " + rows.get(1).maxRelativeError());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MatmulCeiling(List.of(SMALL), 1,
                2, 1, false, false, Device.cpu(), 0, quiet()));
        assertTrue(e.getMessage().contains("products per sample = 0"), e.getMessage());
    }

    @Test
    void onAGpuLibtorchFp32AndFp16AreMeasured() {
        Assumptions.assumeTrue(Devices.usableGpus() > 0, "needs a GPU that the loaded libtorch can use");
        List<MatmulMeasurement> rows = new MatmulCeiling(List.of(new MatmulShape(512, 512, 512)), 1, 2, 1, true, true,
                Device.gpu(0), quiet()).measure();
        assertEquals(List.of("libtorch/fp32", "libtorch/fp16", "libtorch/bf16"), labels(rows));
        assertTrue(rows.get(0).measured() && rows.get(1).measured(), rows.toString());
    }

    private static List<String> labels(List<MatmulMeasurement> rows) {
        return rows.stream().map(m -> m.backend() + "/" + m.dtype()).toList();
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }
}
