package io.tessera.core;

import ai.djl.Device;
import ai.djl.engine.StandardCapabilities;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a rank's tensors live: the {@code --device} choice and its resolution against this host.
 *
 * <pre>
 *   request      resolves to (rank with local rank L on a host with G usable GPUs)
 *   auto         cuda:L when G > 0, else cpu          (the default)
 *   cpu          cpu
 *   cuda         cuda:L; an error when G = 0 or L >= G
 *   cuda:N       cuda:N; one rank per host only (ranks of one NCCL group need distinct devices)
 * </pre>
 *
 * <p>"Usable" means the loaded libtorch can place tensors there: DJL's {@code pytorch-native-cpu}
 * sees no GPU even on a host that has some. {@link #resolve} then says so and names the fix
 * ({@code PYTORCH_LIBRARY_PATH} pointing at a CUDA build of libtorch).
 *
 * <p>Thread safety: immutable values and stateless functions.
 *
 * @param kind what was asked for
 * @param index the device index of {@code cuda:N}, -1 otherwise
 */
public record Devices(Kind kind, int index) {

    /** The four forms of a request. */
    public enum Kind {
        /** cuda:LOCAL_RANK when a GPU is usable, otherwise cpu. */
        AUTO,
        /** The host's processors. */
        CPU,
        /** cuda:LOCAL_RANK, required. */
        CUDA,
        /** One named CUDA device. */
        CUDA_INDEX
    }

    /** The default request. */
    public static final Devices AUTO = new Devices(Kind.AUTO, -1);

    /**
     * @throws IllegalArgumentException if {@code index} does not fit {@code kind}
     */
    public Devices {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.CUDA_INDEX) != (index >= 0)) {
            throw new IllegalArgumentException("device " + kind + " with index " + index
                    + ": only cuda:N carries an index, and it must be >= 0");
        }
    }

    /**
     * Parses {@code auto}, {@code cpu}, {@code cuda}, {@code gpu} (same as cuda) or {@code cuda:N}.
     *
     * @param text the option value
     * @return the request
     * @throws IllegalArgumentException naming the value and the accepted forms
     */
    public static Devices parse(String text) {
        String t = Objects.requireNonNull(text, "device").trim().toLowerCase(Locale.ROOT);
        switch (t) {
            case "auto":
                return AUTO;
            case "cpu":
                return new Devices(Kind.CPU, -1);
            case "cuda":
            case "gpu":
                return new Devices(Kind.CUDA, -1);
            default:
                break;
        }
        if (t.startsWith("cuda:") || t.startsWith("gpu:")) {
            String n = t.substring(t.indexOf(':') + 1);
            try {
                int i = Integer.parseInt(n);
                if (i >= 0) {
                    return new Devices(Kind.CUDA_INDEX, i);
                }
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new IllegalArgumentException("--device " + text + " is not a device; use auto (cuda:LOCAL_RANK when a GPU is"
                + " usable, else cpu), cpu, cuda (cuda:LOCAL_RANK) or cuda:N");
    }

    /**
     * Resolves this request for one rank, against the GPUs the loaded libtorch can use.
     *
     * @param localRank the rank's index on its host (torchrun's {@code LOCAL_RANK})
     * @param localRanks ranks on this host
     * @return the device
     * @throws IllegalArgumentException if a CUDA device was asked for and cannot be had, with the reason and a fix
     */
    public Device resolve(int localRank, int localRanks) {
        return resolve(localRank, localRanks, usableGpus(), hostGpus());
    }

    /**
     * {@link #resolve(int, int)} against given counts; for tests and for callers that counted already.
     *
     * @param localRank the rank's index on its host
     * @param localRanks ranks on this host
     * @param usable GPUs the loaded libtorch can use
     * @param host GPUs the CUDA driver reports (may exceed {@code usable} under a CPU build of libtorch)
     * @return the device
     */
    public Device resolve(int localRank, int localRanks, int usable, int host) {
        if (localRank < 0 || localRanks < 1 || localRank >= localRanks) {
            throw new IllegalArgumentException("local rank " + localRank + " of " + localRanks + " ranks on this host:"
                    + " must be in [0, local ranks)");
        }
        switch (kind) {
            case CPU:
                return Device.cpu();
            case AUTO:
                if (usable == 0) {
                    return Device.cpu();
                }
                return cuda(localRank, localRank, localRanks, usable, "--device auto");
            case CUDA:
                if (usable == 0) {
                    throw new IllegalArgumentException(noGpu("--device cuda", host));
                }
                return cuda(localRank, localRank, localRanks, usable, "--device cuda");
            default:
                if (usable == 0) {
                    throw new IllegalArgumentException(noGpu("--device cuda:" + index, host));
                }
                if (localRanks > 1) {
                    throw new IllegalArgumentException("--device cuda:" + index + " names one device but " + localRanks
                            + " ranks run on this host, and the ranks of one NCCL group need distinct devices;"
                            + " use --device cuda (rank L takes cuda:L) or restrict the visible GPUs with CUDA_VISIBLE_DEVICES");
                }
                return cuda(index, localRank, localRanks, usable, "--device cuda:" + index);
        }
    }

    private static Device cuda(int device, int localRank, int localRanks, int usable, String what) {
        if (device >= usable) {
            throw new IllegalArgumentException(what + ": local rank " + localRank + " of " + localRanks + " needs cuda:" + device
                    + " but only " + usable + " GPU" + (usable == 1 ? " is" : "s are") + " usable here; run at most " + usable
                    + " rank" + (usable == 1 ? "" : "s") + " per host, or pass --device cpu");
        }
        return Device.gpu(device);
    }

    private static String noGpu(String what, int host) {
        if (host > 0) {
            return what + ": the CUDA driver reports " + host + " GPU" + (host == 1 ? "" : "s") + " but the loaded libtorch ("
                    + Torch.version() + ") cannot use them (it is a CPU build); point PYTORCH_LIBRARY_PATH at a CUDA build of"
                    + " libtorch, or pass --device cpu";
        }
        return what + ": no CUDA GPU on this host (no driver or no device); pass --device cpu, or --device auto to use"
                + " a GPU only where there is one";
    }

    /** @return GPUs the loaded libtorch can place tensors on (0 for a CPU build) */
    public static int usableGpus() {
        return Torch.engine().hasCapability(StandardCapabilities.CUDA) ? hostGpus() : 0;
    }

    /**
     * @return GPUs the CUDA driver reports to this process (after {@code CUDA_VISIBLE_DEVICES}), whatever
     *     libtorch was loaded; 0 without a driver (see {@link CudaDriver} for why not DJL's {@code CudaUtils})
     */
    public static int hostGpus() {
        return CudaDriver.deviceCount();
    }

    /**
     * Device memory of a CUDA device as the driver sees it (every process's allocations, including
     * libtorch's cache), asked in the device's primary context so that no other GPU is touched.
     *
     * @param device any device
     * @return used and total bytes, or empty for the CPU or when the driver cannot be asked
     */
    public static Optional<Memory> memory(Device device) {
        if (device == null || !device.isGpu()) {
            return Optional.empty();
        }
        return CudaDriver.memory(device.getDeviceId()).map(m -> new Memory(m[1] - m[0], m[1]));
    }

    /**
     * This process's resident host memory, as Linux's {@code /proc/self/status} says ({@code VmRSS}).
     *
     * @return megabytes (MiB), NaN where unknown (not Linux, or unreadable)
     */
    public static double residentMegabytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /**
     * Waits until every operation queued on a CUDA device's default stream (where DJL's PyTorch ops run)
     * has finished, by copying one element to the host; a no-op on the CPU, where ops complete before
     * they return. Timing on a GPU must end with this, because kernel launches return at once.
     *
     * @param manager a manager on the device
     */
    public static void synchronize(ai.djl.ndarray.NDManager manager) {
        if (!manager.getDevice().isGpu()) {
            return;
        }
        try (ai.djl.ndarray.NDArray one = manager.zeros(new ai.djl.ndarray.types.Shape(1))) {
            one.toFloatArray();
        }
    }

    /**
     * Device memory in bytes.
     *
     * @param used bytes in use on the device
     * @param total the device's capacity
     */
    public record Memory(long used, long total) {
        /** @return used mebibytes */
        public double usedMegabytes() {
            return used / (1024.0 * 1024.0);
        }
    }

    @Override
    public String toString() {
        return switch (kind) {
            case AUTO -> "auto";
            case CPU -> "cpu";
            case CUDA -> "cuda";
            case CUDA_INDEX -> "cuda:" + index;
        };
    }
}
