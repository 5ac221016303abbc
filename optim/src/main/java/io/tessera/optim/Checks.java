package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Argument checks shared by the optimizer configs and steps; messages name the field, the value, the
 * rule and the fix.
 *
 * <p>Thread safety: stateless.
 */
final class Checks {

    private Checks() {}

    static void float32(NDArray array, String what) {
        if (array.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(what + ": data type " + array.getDataType()
                    + " but optimizer arithmetic is fp32; keep master parameters and gradients in fp32");
        }
    }

    static void unitInterval(String owner, String field, double value, String typical) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(owner + ": " + field + " = " + value + " must be in [0, 1); typical "
                    + typical + "; set it with " + field + "(...)");
        }
    }

    static void positive(String owner, String field, double value, String typical) {
        if (!(value > 0 && Double.isFinite(value))) {
            throw new IllegalArgumentException(owner + ": " + field + " = " + value + " must be finite and > 0; typical "
                    + typical + "; set it with " + field + "(...)");
        }
    }

    static void nonNegative(String owner, String field, double value, String typical) {
        if (!(value >= 0 && Double.isFinite(value))) {
            throw new IllegalArgumentException(owner + ": " + field + " = " + value + " must be finite and >= 0; typical "
                    + typical + "; set it with " + field + "(...)");
        }
    }

    static void learningRate(double lr) {
        if (!(lr >= 0 && Double.isFinite(lr))) {
            throw new IllegalArgumentException("step: learning rate " + lr
                    + " must be finite and >= 0; take it from a LearningRateSchedule");
        }
    }
}
