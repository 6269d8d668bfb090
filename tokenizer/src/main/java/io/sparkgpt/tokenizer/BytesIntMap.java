package io.sparkgpt.tokenizer;

/**
 * Read-only map from byte strings to token ids. Keys live in the tokenizer's shared byte pool, so a
 * lookup hashes and compares the caller's bytes in place and allocates nothing.
 */
final class BytesIntMap {
  private final byte[] pool;
  private final int[] start;
  private final int[] length;
  private final int[] slots; // token id + 1; 0 = empty
  private final int[] hashes;
  private final int mask;

  /**
   * Indexes the tokens with {@code include[id]} set; token {@code id} is {@code pool[start[id],
   * +length[id])}.
   */
  BytesIntMap(byte[] pool, int[] start, int[] length, boolean[] include) {
    this.pool = pool;
    this.start = start;
    this.length = length;
    int n = 0;
    for (boolean b : include) {
      n += b ? 1 : 0;
    }
    int capacity = Integer.highestOneBit(Math.max(16, n * 2 - 1)) << 1;
    slots = new int[capacity];
    hashes = new int[capacity];
    mask = capacity - 1;
    for (int id = 0; id < include.length; id++) {
      if (include[id]) {
        int h = hash(pool, start[id], length[id]);
        int i = h & mask;
        while (slots[i] != 0) {
          int other = slots[i] - 1;
          if (hashes[i] == h
              && length[other] == length[id]
              && equal(pool, start[id], start[other], length[id])) {
            throw new IllegalArgumentException(
                "tokens " + other + " and " + id + " have the same bytes");
          }
          i = (i + 1) & mask;
        }
        slots[i] = id + 1;
        hashes[i] = h;
      }
    }
  }

  /** Id of the token equal to {@code b[off, off + len)}, or -1. */
  int get(byte[] b, int off, int len) {
    int h = hash(b, off, len);
    for (int i = h & mask; ; i = (i + 1) & mask) {
      int slot = slots[i];
      if (slot == 0) {
        return -1;
      }
      int id = slot - 1;
      if (hashes[i] == h && length[id] == len && equal(b, off, start[id], len)) {
        return id;
      }
    }
  }

  private boolean equal(byte[] b, int off, int at, int len) {
    for (int k = 0; k < len; k++) {
      if (b[off + k] != pool[at + k]) {
        return false;
      }
    }
    return true;
  }

  static int hash(byte[] b, int off, int len) {
    int h = 0x9E3779B9 ^ len;
    for (int k = off, end = off + len; k < end; k++) {
      h = (h ^ b[k]) * 0x01000193;
    }
    return h ^ (h >>> 15);
  }
}
