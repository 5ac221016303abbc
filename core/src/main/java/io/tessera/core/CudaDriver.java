package io.tessera.core;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.Optional;

/**
 * The few CUDA driver API calls {@link Devices} needs: the device count and a device's memory, through
 * {@code libcuda.so.1}, which the NVIDIA driver installs on every GPU host.
 *
 * <p>Why the driver API and not the runtime ({@code libcudart}, as DJL's {@code CudaUtils} uses):
 * <ul>
 *   <li>PyTorch's pip wheels ship only {@code libcudart.so.12}, which a lookup of {@code cudart} by
 *       name does not find, so the runtime route reports no GPU on exactly the hosts Tessera targets;
 *   <li>asking the runtime for another device's memory means {@code cudaSetDevice(N)} and then
 *       restoring the previous device, 0 on a fresh thread, which since CUDA 12 creates a context on
 *       GPU 0 in every rank. Here the rank's primary context (libtorch's) is retained, pushed, queried,
 *       popped and released: no other device is touched and the thread's current context is unchanged.
 * </ul>
 *
 * <p>Without a driver every call answers "none" (0 devices, no memory); nothing is loaded until the
 * first call.
 *
 * <p>Thread safety: thread-safe (the driver API is).
 */
final class CudaDriver {

    private static final int SUCCESS = 0;

    /** The driver entry points used, with their ABI names (the {@code _v2} ones of CUDA 11 and later). */
    interface Api extends Library {
        int cuInit(int flags);

        int cuDeviceGetCount(IntByReference count);

        int cuDeviceGet(IntByReference device, int ordinal);

        int cuDevicePrimaryCtxRetain(PointerByReference context, int device);

        int cuDevicePrimaryCtxRelease_v2(int device);

        int cuCtxPushCurrent_v2(Pointer context);

        int cuCtxPopCurrent_v2(PointerByReference context);

        int cuMemGetInfo_v2(LongByReference free, LongByReference total);
    }

    private static volatile Optional<Api> api;

    private CudaDriver() {}

    /** @return the initialised driver, or empty where there is none */
    private static Optional<Api> api() {
        Optional<Api> a = api;
        if (a == null) {
            synchronized (CudaDriver.class) {
                a = api;
                if (a == null) {
                    a = load();
                    api = a;
                }
            }
        }
        return a;
    }

    private static Optional<Api> load() {
        try {
            Api loaded = Native.load("libcuda.so.1", Api.class);
            return loaded.cuInit(0) == SUCCESS ? Optional.of(loaded) : Optional.empty();
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** @return CUDA devices visible to this process (after {@code CUDA_VISIBLE_DEVICES}); 0 without a driver */
    static int deviceCount() {
        return api().map(a -> {
            IntByReference n = new IntByReference();
            return a.cuDeviceGetCount(n) == SUCCESS ? n.getValue() : 0;
        }).orElse(0);
    }

    /**
     * Free and total memory of one device, queried in its primary context.
     *
     * @param ordinal the CUDA device index
     * @return {@code {free, total}} bytes, or empty when the driver or the device is missing
     */
    static Optional<long[]> memory(int ordinal) {
        return api().flatMap(a -> {
            IntByReference dev = new IntByReference();
            if (a.cuDeviceGet(dev, ordinal) != SUCCESS) {
                return Optional.empty();
            }
            PointerByReference ctx = new PointerByReference();
            if (a.cuDevicePrimaryCtxRetain(ctx, dev.getValue()) != SUCCESS) {
                return Optional.empty();
            }
            try {
                if (a.cuCtxPushCurrent_v2(ctx.getValue()) != SUCCESS) {
                    return Optional.empty();
                }
                try {
                    LongByReference free = new LongByReference();
                    LongByReference total = new LongByReference();
                    return a.cuMemGetInfo_v2(free, total) == SUCCESS
                            ? Optional.of(new long[] {free.getValue(), total.getValue()}) : Optional.empty();
                } finally {
                    a.cuCtxPopCurrent_v2(new PointerByReference());
                }
            } finally {
                a.cuDevicePrimaryCtxRelease_v2(dev.getValue());
            }
        });
    }
}
