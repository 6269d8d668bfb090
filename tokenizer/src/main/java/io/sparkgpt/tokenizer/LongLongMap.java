package io.sparkgpt.tokenizer;

import java.util.Arrays;

/** Open-addressing {@code long -> long} map for non-negative keys; no boxing, linear probing. */
final class LongLongMap {
  static final long MISSING = Long.MIN_VALUE;
  private static final long EMPTY = -1;

  private long[] keys;
  private long[] values;
  private int mask;
  private int size;

  LongLongMap(int expected) {
    int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
    keys = new long[capacity];
    values = new long[capacity];
    Arrays.fill(keys, EMPTY);
    mask = capacity - 1;
  }

  int size() {
    return size;
  }

  long get(long key) {
    for (int i = slot(key); ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return values[i];
      }
      if (k == EMPTY) {
        return MISSING;
      }
    }
  }

  /** Puts unless present; returns true if it was absent. */
  boolean putIfAbsent(long key, long value) {
    int i = slot(key);
    for (; keys[i] != EMPTY; i = (i + 1) & mask) {
      if (keys[i] == key) {
        return false;
      }
    }
    keys[i] = key;
    values[i] = value;
    if (++size * 2 > keys.length) {
      rehash();
    }
    return true;
  }

  /** Adds {@code delta} to the value of {@code key} (0 if absent); returns the new value. */
  long add(long key, long delta) {
    int i = slot(key);
    for (; keys[i] != EMPTY; i = (i + 1) & mask) {
      if (keys[i] == key) {
        return values[i] += delta;
      }
    }
    keys[i] = key;
    values[i] = delta;
    if (++size * 2 > keys.length) {
      rehash();
    }
    return delta;
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 29)) & mask;
  }

  private void rehash() {
    long[] oldKeys = keys, oldValues = values;
    keys = new long[oldKeys.length * 2];
    values = new long[oldKeys.length * 2];
    Arrays.fill(keys, EMPTY);
    mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      if (oldKeys[j] != EMPTY) {
        int i = slot(oldKeys[j]);
        while (keys[i] != EMPTY) {
          i = (i + 1) & mask;
        }
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }
}
