package io.sparkgpt.tokenizer;

import java.util.Arrays;

/**
 * A growable {@code int[]} that the caller owns and reuses, so bulk encoding allocates nothing per
 * call once the buffer has grown to its working size. Not thread-safe: one per thread.
 */
public final class IntArray {
  private int[] data;
  private int size;

  public IntArray() {
    this(1024);
  }

  public IntArray(int initialCapacity) {
    data = new int[Math.max(initialCapacity, 8)];
  }

  public int size() {
    return size;
  }

  public int get(int index) {
    if (index >= size) {
      throw new IndexOutOfBoundsException("index " + index + " >= size " + size);
    }
    return data[index];
  }

  public void add(int value) {
    if (size == data.length) {
      grow(size + 1);
    }
    data[size++] = value;
  }

  public void addAll(int[] values) {
    ensureCapacity(size + values.length);
    System.arraycopy(values, 0, data, size, values.length);
    size += values.length;
  }

  public void clear() {
    size = 0;
  }

  /** Drops everything after the first {@code newSize} values. */
  public void truncate(int newSize) {
    if (newSize < 0 || newSize > size) {
      throw new IndexOutOfBoundsException("cannot truncate size " + size + " to " + newSize);
    }
    size = newSize;
  }

  public void ensureCapacity(int capacity) {
    if (capacity > data.length) {
      grow(capacity);
    }
  }

  /** The backing array; valid values are at {@code [0, size())}. Invalidated by the next growth. */
  public int[] array() {
    return data;
  }

  public int[] toArray() {
    return Arrays.copyOf(data, size);
  }

  private void grow(int minCapacity) {
    int newCapacity =
        (int) Math.min(Integer.MAX_VALUE - 8, Math.max((long) minCapacity, data.length * 2L));
    if (newCapacity < minCapacity) {
      throw new OutOfMemoryError("IntArray cannot hold " + minCapacity + " values");
    }
    data = Arrays.copyOf(data, newCapacity);
  }

  @Override
  public String toString() {
    return Arrays.toString(toArray());
  }
}
