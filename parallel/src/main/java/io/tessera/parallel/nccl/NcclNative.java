package io.tessera.parallel.nccl;

import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaErrorNotReady;
import static org.bytedeco.cuda.global.cudart.cudaEventCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventDisableTiming;
import static org.bytedeco.cuda.global.cudart.cudaEventQuery;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaRuntimeGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamWaitEvent;
import static org.bytedeco.cuda.global.cudart.cudaSuccess;

import io.tessera.parallel.nccl.NcclSupport.Probe;
import io.tessera.parallel.nccl.NcclSupport.Status;
import java.nio.ByteBuffer;
import java.util.List;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclConfig_t;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;

/**
 * Every call into NCCL and the CUDA runtime, through the JavaCPP presets; the only class of the backend
 * that names a JavaCPP type, so that nothing native is touched before {@link NcclSupport} allows it.
 * One instance holds one communicator's native state: the device, a non-blocking CUDA stream, an event
 * that orders the stream after the legacy default stream (where DJL's PyTorch ops run), the
 * {@code ncclComm_t}, and a device scratch buffer for staging.
 *
 * <p>Methods return the raw {@code ncclResult_t} / {@code cudaError_t}; {@link NcclCommunicator} turns them
 * into exceptions. Addresses are raw device pointers ({@code long}).
 *
 * <p>Thread safety: not thread-safe; {@link NcclCommunicator} serialises the calls.
 */
final class NcclNative implements AutoCloseable {

    private final int device;
    private final CUstream_st stream = new CUstream_st();
    private final CUevent_st defaultStreamDone = new CUevent_st();
    private final ncclComm comm = new ncclComm();
    private final Pointer scratch = new Pointer();
    private long scratchBytes;
    private boolean initialised;

    /**
     * Selects the device and creates the stream; the communicator comes with {@link #initRank}.
     *
     * @param device CUDA device index
     */
    NcclNative(int device) {
        this.device = device;
        cuda("cudaSetDevice(" + device + ")", cudaSetDevice(device));
        cuda("cudaStreamCreateWithFlags", cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking));
        cuda("cudaEventCreateWithFlags", cudaEventCreateWithFlags(defaultStreamDone, cudaEventDisableTiming));
    }

    /**
     * The probe's last stages: the runtime and NCCL load, and devices exist.
     *
     * @param driver where the driver library was found, for the message
     * @param preloaded libraries loaded from the user's folders
     * @return the result
     */
    static Probe probe(String driver, List<String> preloaded) {
        Loader.load(org.bytedeco.cuda.global.cudart.class);
        int[] rt = {0};
        int[] drv = {0};
        int[] count = {0};
        cudaRuntimeGetVersion(rt);
        cudaDriverGetVersion(drv);
        int err = cudaGetDeviceCount(count);
        if (err != cudaSuccess || count[0] == 0) {
            return new Probe(Status.NO_DEVICE, "the CUDA driver (" + driver + ", supports CUDA "
                    + NcclSupport.cudaVersionText(drv[0]) + ") and runtime " + NcclSupport.cudaVersionText(rt[0])
                    + " loaded but no CUDA device is usable: cudaGetDeviceCount returned " + err + " ("
                    + cudaText(err) + "), " + count[0] + " devices; hint: check nvidia-smi and CUDA_VISIBLE_DEVICES;"
                    + " use the Netty backend on machines without a GPU", 0, 0, rt[0], drv[0]);
        }
        Loader.load(nccl.class);
        int[] version = {0};
        int r = nccl.ncclGetVersion(version);
        if (r != nccl.ncclSuccess) {
            return new Probe(Status.NATIVES_MISSING, "NCCL loaded but ncclGetVersion failed: " + ncclText(r)
                    + (preloaded.isEmpty() ? "" : " (preloaded " + preloaded + ")"), count[0], 0, rt[0], drv[0]);
        }
        return new Probe(Status.AVAILABLE, "", count[0], version[0], rt[0], drv[0]);
    }

    /** @return a fresh {@code ncclUniqueId}'s bytes */
    static byte[] newUniqueId() {
        ncclUniqueId id = new ncclUniqueId();
        int r = nccl.ncclGetUniqueId(id);
        if (r != nccl.ncclSuccess) {
            throw new IllegalStateException("ncclGetUniqueId failed: " + ncclText(r)
                    + "; hint: NCCL needs a usable network interface for its bootstrap (NCCL_SOCKET_IFNAME)");
        }
        byte[] out = new byte[NcclUniqueIds.BYTES];
        for (int i = 0; i < out.length; i++) {
            out[i] = id.internal(i);
        }
        return out;
    }

    /**
     * @param code an {@code ncclResult_t}
     * @return NCCL's text for it
     */
    static String ncclText(int code) {
        BytePointer p = nccl.ncclGetErrorString(code);
        return "ncclResult " + code + (p == null ? "" : " (" + p.getString() + ")");
    }

    /**
     * @param code a {@code cudaError_t}
     * @return the runtime's text for it
     */
    static String cudaText(int code) {
        BytePointer p = cudaGetErrorString(code);
        return p == null ? "cudaError " + code : p.getString();
    }

    /** @return NCCL's detailed message for the last error on this communicator, or empty */
    String lastError() {
        if (!initialised) {
            return "";
        }
        BytePointer p = nccl.ncclGetLastError(comm);
        return p == null ? "" : p.getString();
    }

    /** @return the device index */
    int device() {
        return device;
    }

    /** Makes this communicator's device current on the calling thread. */
    int setDevice() {
        return cudaSetDevice(device);
    }

    /**
     * Starts creating the communicator, non-blocking: returns {@code ncclInProgress} while peers connect;
     * poll {@link #asyncError()}.
     *
     * @param id the group's unique id
     * @param size group size
     * @param rank this rank
     * @return the NCCL result
     */
    int initRank(byte[] id, int size, int rank) {
        ncclUniqueId uid = new ncclUniqueId();
        for (int i = 0; i < id.length; i++) {
            uid.internal(i, id[i]);
        }
        // NCCL_CONFIG_INITIALIZER, field by field: the presets allocate the struct zeroed, and 0 is not
        // "undefined" for NCCL (minCTAs = 0 is rejected, for one)
        int undef = Integer.MIN_VALUE; // NCCL_CONFIG_UNDEF_INT
        ncclConfig_t config = new ncclConfig_t();
        config.size(Loader.sizeof(ncclConfig_t.class)).magic(0xcafebeef).version(nccl.NCCL_VERSION_CODE)
                .blocking(0).cgaClusterSize(undef).minCTAs(undef).maxCTAs(undef).netName(null).splitShare(undef)
                .trafficClass(undef).commName(null).collnetEnable(undef).CTAPolicy(undef).shrinkShare(undef)
                .nvlsCTAs(undef);
        int r = nccl.ncclCommInitRankConfig(comm, size, uid, rank, config);
        initialised = !comm.isNull();
        return r;
    }

    /**
     * @return {@code ncclSuccess}, {@code ncclInProgress} or the communicator's error (including a failure
     *     of the query itself)
     */
    int asyncError() {
        if (!initialised) {
            return nccl.ncclInvalidUsage;
        }
        int[] state = {0};
        int r = nccl.ncclCommGetAsyncError(comm, state);
        return r != nccl.ncclSuccess ? r : state[0];
    }

    /** Aborts the communicator: uncompleted operations stop, resources are freed. */
    int abort() {
        if (!initialised) {
            return nccl.ncclSuccess;
        }
        initialised = false;
        return nccl.ncclCommAbort(comm);
    }

    /** Starts the orderly shutdown (non-blocking: poll {@link #asyncError()}), then {@link #destroy()}. */
    int finalizeComm() {
        return initialised ? nccl.ncclCommFinalize(comm) : nccl.ncclSuccess;
    }

    /** Frees the finalised communicator. */
    int destroy() {
        if (!initialised) {
            return nccl.ncclSuccess;
        }
        initialised = false;
        return nccl.ncclCommDestroy(comm);
    }

    /**
     * Orders the communication stream after everything already queued on the legacy default stream,
     * where DJL's PyTorch ops run, without blocking either stream's later work.
     *
     * @return the CUDA result
     */
    int orderAfterDefaultStream() {
        int r = cudaEventRecord(defaultStreamDone, (CUstream_st) null);
        return r != cudaSuccess ? r : cudaStreamWaitEvent(stream, defaultStreamDone, 0);
    }

    int allReduce(long send, long recv, long count, int type, int op) {
        return nccl.ncclAllReduce(at(send), at(recv), count, type, op, comm, stream);
    }

    int reduceScatter(long send, long recv, long recvCount, int type, int op) {
        return nccl.ncclReduceScatter(at(send), at(recv), recvCount, type, op, comm, stream);
    }

    int allGather(long send, long recv, long sendCount, int type) {
        return nccl.ncclAllGather(at(send), at(recv), sendCount, type, comm, stream);
    }

    int broadcast(long send, long recv, long count, int type, int root) {
        return nccl.ncclBroadcast(at(send), at(recv), count, type, root, comm, stream);
    }

    int reduce(long send, long recv, long count, int type, int op, int root) {
        return nccl.ncclReduce(at(send), at(recv), count, type, op, root, comm, stream);
    }

    int send(long buffer, long count, int type, int peer) {
        return nccl.ncclSend(at(buffer), count, type, peer, comm, stream);
    }

    int recv(long buffer, long count, int type, int peer) {
        return nccl.ncclRecv(at(buffer), count, type, peer, comm, stream);
    }

    int groupStart() {
        return nccl.ncclGroupStart();
    }

    int groupEnd() {
        return nccl.ncclGroupEnd();
    }

    /**
     * @param dst device address
     * @param src device address
     * @param bytes how many
     * @return the CUDA result; the copy is queued on the stream
     */
    int copyOnDevice(long dst, long src, long bytes) {
        return cudaMemcpyAsync(at(dst), at(src), bytes, cudaMemcpyDeviceToDevice, stream);
    }

    /**
     * Queues a copy from a direct buffer's remaining bytes to the device. Pageable memory: the runtime
     * copies it out before returning.
     *
     * @param src direct buffer
     * @param dst device address
     * @return the CUDA result
     */
    int toDevice(ByteBuffer src, long dst) {
        return cudaMemcpyAsync(at(dst), new BytePointer(src), src.remaining(), cudaMemcpyHostToDevice, stream);
    }

    /**
     * Copies device memory into a direct buffer's remaining bytes; returns when the copy is done (pageable
     * memory), so call it only once the stream is idle.
     *
     * @param src device address
     * @param dst direct buffer
     * @return the CUDA result
     */
    int toHost(long src, ByteBuffer dst) {
        return cudaMemcpyAsync(new BytePointer(dst), at(src), dst.remaining(), cudaMemcpyDeviceToHost, stream);
    }

    /**
     * @param bytes at least this many bytes
     * @return a device scratch buffer (grown as needed; freed on close)
     */
    long scratch(long bytes) {
        if (bytes > scratchBytes) {
            if (scratchBytes > 0) {
                cudaFree(scratch);
                scratchBytes = 0;
            }
            long size = Math.max(bytes, 1L << 20);
            cuda("cudaMalloc(" + size + " bytes) for staging", cudaMalloc(scratch, size));
            scratchBytes = size;
        }
        return scratch.address();
    }

    /** @return an event recorded on the stream after everything queued so far */
    Event record() {
        CUevent_st e = new CUevent_st();
        cuda("cudaEventCreateWithFlags", cudaEventCreateWithFlags(e, cudaEventDisableTiming));
        int r = cudaEventRecord(e, stream);
        if (r != cudaSuccess) {
            cudaEventDestroy(e);
            cuda("cudaEventRecord", r);
        }
        return new Event(e);
    }

    /** Frees the stream, events and scratch memory; the communicator must be destroyed or aborted first. */
    @Override
    public void close() {
        cudaSetDevice(device);
        if (scratchBytes > 0) {
            cudaFree(scratch);
            scratchBytes = 0;
        }
        cudaEventDestroy(defaultStreamDone);
        cudaStreamDestroy(stream);
    }

    /** A CUDA event on the communication stream; the completion of the work queued before it. */
    static final class Event {
        private final CUevent_st event;
        private boolean destroyed;

        private Event(CUevent_st event) {
            this.event = event;
        }

        /**
         * @return true once complete
         * @throws IllegalStateException if CUDA reports an error (a fault in a kernel before it)
         */
        synchronized boolean done() {
            if (destroyed) {
                return true;
            }
            int r = cudaEventQuery(event);
            if (r == cudaSuccess) {
                return true;
            }
            if (r != cudaErrorNotReady) {
                throw new IllegalStateException("cudaEventQuery: " + cudaText(r));
            }
            return false;
        }

        /** Releases the event (idempotent). */
        synchronized void destroy() {
            if (!destroyed) {
                destroyed = true;
                cudaEventDestroy(event);
            }
        }
    }

    private static void cuda(String what, int code) {
        if (code != cudaSuccess) {
            throw new IllegalStateException(what + " failed: " + cudaText(code));
        }
    }

    /** A JavaCPP pointer at a raw address (no ownership, no deallocator). */
    private static Pointer at(long addr) {
        return new Pointer() {
            {
                address = addr;
            }
        };
    }
}
