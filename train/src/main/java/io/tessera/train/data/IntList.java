package io.tessera.train.data;

import java.util.Arrays;

/**
 * A growable list of {@code int}s, to build token sequences without boxing.
 *
 * <p>Thread safety: not thread-safe; confined to the method that builds a sequence.
 */
final class IntList {

    private int[] values;
    private int size;

    IntList(int capacity) {
        values = new int[Math.max(capacity, 4)];
    }

    void add(int value) {
        if (size == values.length) {
            values = Arrays.copyOf(values, values.length * 2);
        }
        values[size++] = value;
    }

    void addAll(int[] more) {
        addAll(more, 0, more.length);
    }

    void addAll(int[] more, int from, int to) {
        int count = to - from;
        if (size + count > values.length) {
            values = Arrays.copyOf(values, Math.max(values.length * 2, size + count));
        }
        System.arraycopy(more, from, values, size, count);
        size += count;
    }

    int get(int index) {
        return values[index];
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
