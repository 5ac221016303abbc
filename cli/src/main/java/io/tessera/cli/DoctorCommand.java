package io.tessera.cli;

import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;
import io.tessera.core.HugePages;
import io.tessera.core.TensorMemory;
import io.tessera.core.Torch;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.gemm.OpenBlas;
import io.tessera.parallel.nccl.NcclSupport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code tessera doctor}: prints what this machine offers Tessera and runs the zero-copy self-check.
 * Exits non-zero if the engine or the self-check fails.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "doctor", description = "Check Java, DJL, PyTorch, threads, CUDA/NCCL and the zero-copy self-check.")
final class DoctorCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        row(out, "tessera", Tessera.properties().getProperty("version"));
        row(out, "java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        row(out, "cpus", Runtime.getRuntime().availableProcessors() + " available to the JVM");
        row(out, "huge pages", HugePages.describe());
        row(out, "max heap", String.format("%.1f GiB", Runtime.getRuntime().maxMemory() / (double) (1L << 30)));
        Engine engine = Torch.engine();
        row(out, "djl", Engine.getDjlVersion());
        row(out, "pytorch", engine.getVersion() + " (" + engine.getEngineName() + " engine, offline="
                + System.getProperty("ai.djl.offline") + ")");
        row(out, "torch threads", Torch.threads() + " intra-op, " + Torch.interopThreads() + " inter-op");
        int gpus = CudaUtils.hasCuda() ? CudaUtils.getGpuCount() : 0;
        row(out, "cuda", gpus > 0 ? gpus + " device(s), CUDA " + CudaUtils.getCudaVersionString() : "no CUDA device");
        row(out, "nccl", ncclStatus());
        row(out, "gemm", gemmStatus());
        row(out, "bf16", "not available through DJL 0.35.1's JNI (requests fail with a clear error)");
        row(out, "zero-copy", TensorMemory.selfCheck());
        out.flush();
        return 0;
    }

    private static String ncclStatus() {
        return NcclSupport.available() ? "available (NCCL communicator usable)"
                : NcclSupport.unavailableReason() + " (needed only for GPU training)";
    }

    private static String gemmStatus() {
        try {
            Gemm g = Gemms.current();
            return g.name() + " (" + Gemms.PROPERTY + " / " + Gemms.ENV + "; OpenBLAS " + OpenBlas.version() + ", "
                    + OpenBlas.threads() + " threads)";
        } catch (RuntimeException | LinkageError e) {
            return "unavailable: " + e.getMessage();
        }
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("%-14s %s%n", key, value);
    }
}
