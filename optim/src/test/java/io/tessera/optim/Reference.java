package io.tessera.optim;

/**
 * Plain-Java, double-precision reference implementations of the optimizer formulas, written element by
 * element from the papers independently of the NDArray code under test. One tensor at a time; the state
 * arrays are updated in place.
 */
final class Reference {

    private Reference() {}

    /**
     * One torch.optim.AdamW step (decoupled decay first, then the moments, then the bias-corrected update).
     *
     * @param p parameter, updated
     * @param g gradient
     * @param m first moment, updated
     * @param v second moment, updated
     * @param t the step number, from 1
     * @param lr learning rate
     * @param b1 β₁
     * @param b2 β₂
     * @param eps ε
     * @param wd weight decay of this tensor (0 for no-decay tensors)
     */
    static void adamw(double[] p, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps,
                      double wd) {
        for (int i = 0; i < p.length; i++) {
            p[i] = p[i] * (1 - lr * wd);
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(b1, t));
            double vHat = v[i] / (1 - Math.pow(b2, t));
            p[i] = p[i] - lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }

    /**
     * One LAMB step (You et al. 2019, NVIDIA variant) on one whole tensor.
     *
     * @param p parameter, updated
     * @param g gradient
     * @param m first moment, updated
     * @param v second moment, updated
     * @param t the step number, from 1
     * @param lr learning rate
     * @param b1 β₁
     * @param b2 β₂
     * @param eps ε
     * @param wd weight decay of this tensor (0 for no-decay tensors)
     * @param adapt whether the trust ratio applies to this tensor
     * @return the trust ratio used
     */
    static double lamb(double[] p, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps,
                       double wd, boolean adapt) {
        double[] u = new double[p.length];
        double pSq = 0;
        double uSq = 0;
        for (int i = 0; i < p.length; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(b1, t));
            double vHat = v[i] / (1 - Math.pow(b2, t));
            u[i] = mHat / (Math.sqrt(vHat) + eps) + wd * p[i];
            pSq += p[i] * p[i];
            uSq += u[i] * u[i];
        }
        double ratio = adapt && pSq > 0 && uSq > 0 ? Math.sqrt(pSq) / Math.sqrt(uSq) : 1;
        for (int i = 0; i < p.length; i++) {
            p[i] -= lr * ratio * u[i];
        }
        return ratio;
    }
}
