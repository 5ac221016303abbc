/**
 * The NCCL backend: {@link io.tessera.parallel.nccl.NcclCommunicator} runs the collectives of
 * {@link io.tessera.parallel.comm.Communicator} on CUDA tensors through NCCL, bound by the JavaCPP
 * {@code org.bytedeco:cuda} presets (NCCL and the CUDA runtime; one binding for both).
 *
 * <pre>
 *   rank 0                          store                         rank r
 *   ncclGetUniqueId ──set(id)──▶ tessera/nccl/&lt;group&gt;/unique-id ◀──get── (waits, bounded)
 *   ncclCommInitRankConfig(non-blocking) … poll ncclCommGetAsyncError until ready or timeout
 *   per collective: legacy stream ─event─▶ comm stream: ncclAllReduce … ─event─▶ Work.await()
 *   timeout or error anywhere: ncclCommAbort, CommunicationException(op, group, rank, timeout)
 * </pre>
 *
 * <p>Nothing here touches a native library until {@link io.tessera.parallel.nccl.NcclSupport} has
 * found the CUDA driver; on a machine without one it reports why and every entry point fails with
 * that reason instead of crashing.
 */
package io.tessera.parallel.nccl;
