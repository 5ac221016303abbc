package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Torch;
import org.junit.jupiter.api.Test;

/**
 * {@link DistillationLoss} on a batch of two rows and two labels, against the formula worked by hand:
 *
 * <pre>
 *   z = [[1, 2], [0.5, −1]]   t = [[0, 2], [1, 1]]
 *   MSE = ((1−0)² + (2−2)² + (0.5−1)² + (−1−1)²) / 4 = 5.25 / 4 = 1.3125
 *   CE of row 0, gold 1: −log(e² / (e¹ + e²)) = log(1 + e⁻¹);  row 1, gold 0: log(1 + e^−1.5)
 * </pre>
 */
class DistillationLossTest {

    private static final double CE0 = Math.log(1 + Math.exp(-1));
    private static final double CE1 = Math.log(1 + Math.exp(-1.5));

    private static double loss(DistillationLoss l, int[] gold) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            NDArray z = m.create(new float[] {1, 2, 0.5f, -1}, new Shape(2, 2));
            NDArray t = m.create(new float[] {0, 2, 1, 1}, new Shape(2, 2));
            return l.compute(z, t, m.create(gold)).getFloat();
        }
    }

    @Test
    void pureMseIsTheMeanSquaredDifferenceOverRowsAndLabels() {
        assertEquals(1.3125, loss(new DistillationLoss(0, true), new int[] {1, DistillationLoss.NO_LABEL}), 1e-6);
    }

    @Test
    void mixedLossWeighsTheGoldRowsCrossEntropyByAlpha() {
        assertEquals(0.25 * CE0 + 0.75 * 1.3125, loss(new DistillationLoss(0.25, true), new int[] {1, DistillationLoss.NO_LABEL}), 1e-6);
        assertEquals(0.5 * (CE0 + CE1) / 2 + 0.5 * 1.3125, loss(new DistillationLoss(0.5, true), new int[] {1, 0}), 1e-6);
    }

    @Test
    void aBatchWithoutGoldRowsHasNoCrossEntropyTerm() {
        int[] none = {DistillationLoss.NO_LABEL, DistillationLoss.NO_LABEL};
        assertEquals(0.5 * 1.3125, loss(new DistillationLoss(0.5, true), none), 1e-6);
    }

    @Test
    void theBaselineIsTheMeanCrossEntropyAndIgnoresTheTeacher() {
        assertEquals((CE0 + CE1) / 2, loss(new DistillationLoss(0, false), new int[] {1, 0}), 1e-6);
    }

    @Test
    void alphaOutsideZeroOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(1.5, true));
        assertTrue(e.getMessage().contains("alpha = 1.5") && e.getMessage().contains("[0, 1]"), e.getMessage());
    }
}
