package io.tessera.core.gemm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.tessera.core.TensorMemory;
import java.nio.ByteBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Matrix products by OpenBLAS's {@code cblas_sgemm}, run in place on the memory of DJL tensors: each
 * operand's storage is reached through {@link TensorMemory#buffer} and wrapped by a JavaCPP
 * {@link FloatPointer} without copying. Row-major, with the transposes passed as flags:
 *
 * <pre>
 *   C[m×n] = α·op(A)·op(B) + β·C     lda = A's row length, ldb = B's row length, ldc = n
 *   multiply: β = 0 into a new tensor;  multiplyAdd: β = 1 into the caller's C
 * </pre>
 *
 * <p>Operands should be contiguous (activations, cotangents and parameter views of a flat buffer are).
 * For a non-contiguous operand DJL makes a contiguous copy owned by the operand's manager, which is
 * correct but costs memory until that manager closes. The output of {@link #multiplyAdd} must be
 * contiguous: its address is checked against the tensor's {@code data_ptr} and a mismatch is refused.
 *
 * <p>Thread safety: safe from several threads on distinct outputs. The thread count is OpenBLAS's
 * process-wide setting ({@link OpenBlas#setThreads}).
 */
public final class OpenBlasGemm implements Gemm {

    /** The name in reports. */
    public static final String NAME = "openblas";

    /** Loads OpenBLAS (see {@link OpenBlas#load()}). */
    public OpenBlasGemm() {
        OpenBlas.load();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public NDArray multiply(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDManager manager) {
        int[] mkn = Gemm.dimensions(a, transposeA, b, transposeB, NAME);
        NDArray c = manager.create(new Shape(mkn[0], mkn[2]), DataType.FLOAT32);
        sgemm(a, transposeA, b, transposeB, c, mkn, 0f);
        return c;
    }

    @Override
    public void multiplyAdd(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c) {
        int[] mkn = Gemm.dimensions(a, transposeA, b, transposeB, NAME);
        Gemm.checkOutput(c, mkn[0], mkn[2], NAME);
        sgemm(a, transposeA, b, transposeB, c, mkn, 1f);
    }

    private static void sgemm(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c, int[] mkn,
                              float beta) {
        int m = mkn[0];
        int k = mkn[1];
        int n = mkn[2];
        ByteBuffer cb = TensorMemory.buffer(c);
        if (Pointer.nativeValue(Native.getDirectBufferPointer(cb)) != TensorMemory.address(c)) {
            throw new IllegalArgumentException(NAME + ": the output C " + c.getShape() + " is not contiguous, so its"
                    + " buffer would be a copy; pass a contiguous tensor (a fresh one, or a view of a flat buffer)");
        }
        FloatPointer pa = new FloatPointer(TensorMemory.buffer(a).asFloatBuffer());
        FloatPointer pb = new FloatPointer(TensorMemory.buffer(b).asFloatBuffer());
        FloatPointer pc = new FloatPointer(cb.asFloatBuffer());
        int lda = (int) a.getShape().get(1);
        int ldb = (int) b.getShape().get(1);
        openblas.cblas_sgemm(openblas.CblasRowMajor,
                transposeA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transposeB ? openblas.CblasTrans : openblas.CblasNoTrans,
                m, n, k, 1f, pa, lda, pb, ldb, beta, pc, n);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
