package io.tessera.core.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Both GEMM backends against the fp64 product, on small shapes, with every transpose combination. */
class GemmTest {

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        Torch.engine();
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static NDArray random(long... dims) {
        return manager.randomUniform(-1f, 1f, new Shape(dims), DataType.FLOAT32);
    }

    static NDArray reference(NDArray a, boolean ta, NDArray b, boolean tb) {
        NDArray a64 = (ta ? a.transpose() : a).toType(DataType.FLOAT64, false);
        NDArray b64 = (tb ? b.transpose() : b).toType(DataType.FLOAT64, false);
        return a64.matMul(b64);
    }

    @Test
    void multiplyMatchesFp64ForAllTransposes() {
        int m = 7;
        int k = 13;
        int n = 5;
        for (Gemm g : List.of(new LibtorchGemm(), new OpenBlasGemm())) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    NDArray a = ta ? random(k, m) : random(m, k);
                    NDArray b = tb ? random(n, k) : random(k, n);
                    NDArray c = g.multiply(a, ta, b, tb, manager);
                    assertEquals(new Shape(m, n), c.getShape());
                    double err = Tensors.maxRelativeDifference(c.toType(DataType.FLOAT64, false), reference(a, ta, b, tb));
                    assertTrue(err < 1e-5, g.name() + " ta=" + ta + " tb=" + tb + " error " + err);
                }
            }
        }
    }

    @Test
    void multiplyAddAccumulatesIntoAViewOfAFlatBuffer() {
        for (Gemm g : List.of(new LibtorchGemm(), new OpenBlasGemm())) {
            NDArray flat = manager.zeros(new Shape(100), DataType.FLOAT32);
            NDArray view = flat.get(new NDIndex("10:40")).reshape(5, 6);
            Tensors.fill(view, 1f);
            NDArray dy = random(9, 5);
            NDArray x = random(9, 6);
            g.linearWeightGradientAdd(dy, x, view);
            NDArray expected = reference(dy, true, x, false).add(1.0);
            double err = Tensors.maxRelativeDifference(flat.get(new NDIndex("10:40")).reshape(5, 6).toType(DataType.FLOAT64, false),
                    expected);
            assertTrue(err < 1e-5, g.name() + " error " + err);
            assertEquals(0f, flat.get(new NDIndex("0:10")).abs().sum().getFloat(), g.name() + " wrote before the view");
            assertEquals(0f, flat.get(new NDIndex("40:")).abs().sum().getFloat(), g.name() + " wrote after the view");
        }
    }

    @Test
    void linearProductsFlattenLeadingDimensions() {
        NDArray x = random(2, 3, 8);
        NDArray w = random(4, 8);
        NDArray dy = random(2, 3, 4);
        for (Gemm g : List.of(new LibtorchGemm(), new OpenBlasGemm())) {
            NDArray y = g.linearForward(x, w, manager);
            assertEquals(new Shape(2, 3, 4), y.getShape());
            assertTrue(Tensors.maxRelativeDifference(y, x.matMul(w.transpose())) < 1e-5);
            NDArray dx = g.linearInputGradient(dy, w, manager);
            assertEquals(new Shape(2, 3, 8), dx.getShape());
            assertTrue(Tensors.maxRelativeDifference(dx, dy.matMul(w)) < 1e-5);
            NDArray dw = g.linearWeightGradient(dy, x, manager);
            assertEquals(new Shape(4, 8), dw.getShape());
            assertTrue(Tensors.maxRelativeDifference(dw, dy.reshape(6, 4).transpose().matMul(x.reshape(6, 8))) < 1e-5);
        }
    }

    @Test
    void openBlasRefusesANonContiguousOutput() {
        NDArray c = manager.zeros(new Shape(6, 5), DataType.FLOAT32).transpose();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBlasGemm().multiplyAdd(random(5, 3), false, random(3, 6), false, c));
        assertTrue(e.getMessage().contains("not contiguous"), e.getMessage());
    }

    @Test
    void shapeErrorsNameBothOperands() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LibtorchGemm().multiply(random(4, 3), false, random(4, 2), false, manager));
        assertTrue(e.getMessage().contains("inner dimensions must agree"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new OpenBlasGemm().multiply(random(4, 3).toType(DataType.FLOAT64, false), false, random(3, 2), false, manager));
    }

    @Test
    void measuredGemmDecidesOncePerShapeAndTranspose() {
        MeasuredGemm g = new MeasuredGemm(List.of(new LibtorchGemm(), new OpenBlasGemm()), 2);
        NDArray x = random(16, 8);
        NDArray w = random(4, 8);
        NDArray dy = random(16, 4);
        NDArray y = g.linearForward(x, w, manager);
        g.linearForward(x, w, manager);
        g.linearWeightGradient(dy, x, manager);
        assertTrue(Tensors.maxRelativeDifference(y, x.matMul(w.transpose())) < 1e-5);
        assertEquals(List.of("16x8x4 NT", "4x16x8 TN"), List.copyOf(g.decisions().keySet()));
        MeasuredGemm.Decision d = g.decisions().get("16x8x4 NT");
        assertEquals(List.of("libtorch", "openblas"), List.copyOf(d.gflops().keySet()));
        assertTrue(d.gflops().values().stream().allMatch(v -> v > 0));
        double best = Math.max(d.gflops().get("libtorch"), d.gflops().get("openblas"));
        assertEquals(best, d.gflops().get(d.chosen().name()));
    }

    @Test
    void aProductAddedIntoCIsDecidedApartFromTheSameProductIntoANewTensor() {
        MeasuredGemm g = new MeasuredGemm(List.of(new LibtorchGemm(), new OpenBlasGemm()), 2);
        NDArray x = random(16, 8);
        NDArray dy = random(16, 4);
        NDArray grad = random(4, 8);
        NDArray expected = grad.add(dy.transpose().matMul(x));
        g.linearWeightGradient(dy, x, manager);
        g.linearWeightGradientAdd(dy, x, grad);
        assertTrue(Tensors.maxRelativeDifference(grad, expected) < 1e-5);
        assertEquals(List.of("4x16x8 TN", "4x16x8 TN +="), List.copyOf(g.decisions().keySet()));
        MeasuredGemm.Key added = g.decisions().get("4x16x8 TN +=").key();
        assertTrue(added.accumulate());
        assertEquals(added, MeasuredGemm.Key.parse(added.toString()));
        assertEquals(new MeasuredGemm.Key(4, 16, 8, true, false), MeasuredGemm.Key.parse("4x16x8 TN"));
    }

    @Test
    void singleCandidateIsAlwaysChosen() {
        Gemm only = new LibtorchGemm();
        MeasuredGemm g = new MeasuredGemm(List.of(only), 1);
        g.multiply(random(3, 2), false, random(2, 3), false, manager);
        assertSame(only, g.decisions().values().iterator().next().chosen());
        assertThrows(IllegalArgumentException.class, () -> new MeasuredGemm(List.of(), 1));
    }

    @Test
    void backendNamesParse() {
        assertEquals(GemmBackend.OPENBLAS, GemmBackend.parse(" OpenBLAS "));
        assertEquals("measured", GemmBackend.parse("measured").create().name());
        assertThrows(IllegalArgumentException.class, () -> GemmBackend.parse("mkl"));
    }
}
