package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Accuracy and macro-F1 on a hand-worked confusion matrix. */
class ClassificationScoreTest {

    @Test
    void accuracyAndMacroF1() {
        ClassificationScore s = new ClassificationScore(3);
        // gold 0: predicted 0,0,1   gold 1: predicted 1,1   gold 2: never; predicted 2 once (for gold 1)
        int[][] pairs = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 2}};
        for (int[] p : pairs) {
            s.add(p[0], p[1]);
        }
        assertEquals(4.0 / 6, s.accuracy(), 1e-12);
        // class 0: P 2/2, R 2/3 → F1 0.8; class 1: P 2/3, R 2/3 → 2/3; class 2: P 0/1, R 0/0 → 0
        double[] f1 = s.f1PerClass();
        assertEquals(0.8, f1[0], 1e-12);
        assertEquals(2.0 / 3, f1[1], 1e-12);
        assertEquals(0.0, f1[2], 1e-12);
        assertEquals((0.8 + 2.0 / 3 + 0) / 3, s.macroF1(), 1e-12);
    }

    @Test
    void aClassNobodySawIsLeftOutOfTheMacroMean() {
        ClassificationScore s = new ClassificationScore(3);
        s.add(0, 0);
        s.add(1, 0);
        // class 0: P 1/2 R 1 → 2/3; class 1: 0; class 2: absent
        assertEquals((2.0 / 3 + 0) / 2, s.macroF1(), 1e-12);
        assertTrue(Double.isNaN(new ClassificationScore(2).accuracy()));
    }
}
