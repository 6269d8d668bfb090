package io.sparkgpt.jobs.clean;

import java.util.Arrays;

/**
 * Counts 64-bit keys (hashes of lines, words, n-grams) without boxing: open addressing, linear
 * probing.
 */
final class LongCounter {
  private static final long EMPTY =
      0L; // key 0 is remapped, so EMPTY never collides with a real key
  private long[] keys;
  private int[] counts;
  private int size;
  private int mask;

  LongCounter(int expected) {
    int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
    keys = new long[cap];
    counts = new int[cap];
    mask = cap - 1;
  }

  /** Adds one occurrence; returns the count before this one. */
  int add(long key) {
    if (key == EMPTY) {
      key = 0x9E3779B97F4A7C15L;
    }
    int i = (int) (mix(key) & mask);
    while (true) {
      long k = keys[i];
      if (k == EMPTY) {
        keys[i] = key;
        counts[i] = 1;
        if (++size * 2 > keys.length) {
          grow();
        }
        return 0;
      }
      if (k == key) {
        return counts[i]++;
      }
      i = (i + 1) & mask;
    }
  }

  private void grow() {
    long[] oldKeys = keys;
    int[] oldCounts = counts;
    keys = new long[oldKeys.length * 2];
    counts = new int[oldKeys.length * 2];
    mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      if (oldKeys[j] != EMPTY) {
        int i = (int) (mix(oldKeys[j]) & mask);
        while (keys[i] != EMPTY) {
          i = (i + 1) & mask;
        }
        keys[i] = oldKeys[j];
        counts[i] = oldCounts[j];
      }
    }
  }

  void clear() {
    Arrays.fill(keys, EMPTY);
    size = 0;
  }

  /** MurmurHash3's 64-bit finaliser: spreads any key over all bits. */
  static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
}
