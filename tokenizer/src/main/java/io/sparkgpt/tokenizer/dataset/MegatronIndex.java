package io.sparkgpt.tokenizer.dataset;

import io.sparkgpt.tokenizer.IntArray;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Megatron-LM's {@code .idx} (megatron/core/datasets/indexed_dataset.py, {@code _IndexWriter}), all
 * little-endian: the 9 bytes {@code MMIDIDX\0\0}; version {@code <Q} = 1; dtype code {@code <B}
 * (uint16 = 8, int32 = 4); sequence count {@code <Q}; document count {@code <Q} (sequences + 1);
 * int32 sequence lengths; int64 byte offsets of the sequences in the {@code .bin}; int64 document
 * indices {@code 0, 1, ..., n}. Every document (its tokens and the end-of-text id) is one sequence.
 */
public final class MegatronIndex {
  static final byte[] MAGIC = "MMIDIDX\0\0".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = 9 + 8 + 1 + 8 + 8;

  private MegatronIndex() {}

  /** Size in bytes of the index of {@code sequences} one-sequence documents. */
  public static long size(long sequences) {
    return HEADER_BYTES + sequences * (4 + 8 + 8) + 8;
  }

  /** Writes the index of documents of the given lengths (in tokens, end-of-text included). */
  public static void write(OutputStream out, Dtype dtype, IntArray lengths) throws IOException {
    if (dtype.megatronCode() < 0) {
      throw new IllegalArgumentException("Megatron has no dtype " + dtype.id());
    }
    int n = lengths.size();
    ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).putLong(1).put((byte) dtype.megatronCode()).putLong(n).putLong(n + 1L);
    for (int i = 0; i < n; i++) {
      b = room(out, b, 4);
      b.putInt(lengths.get(i));
    }
    long pointer = 0;
    for (int i = 0; i < n; i++) {
      b = room(out, b, 8);
      b.putLong(pointer);
      pointer += (long) lengths.get(i) * dtype.bytes();
    }
    for (long i = 0; i <= n; i++) {
      b = room(out, b, 8);
      b.putLong(i);
    }
    out.write(b.array(), 0, b.position());
  }

  private static ByteBuffer room(OutputStream out, ByteBuffer b, int bytes) throws IOException {
    if (b.remaining() < bytes) {
      out.write(b.array(), 0, b.position());
      b.clear();
    }
    return b;
  }

  /**
   * Checks an index against its shard: header, dtype, one sequence per document, lengths summing to
   * the tokens, contiguous pointers, document indices {@code 0..n}.
   *
   * @throws IllegalArgumentException with a one-line reason prefixed by {@code where}
   */
  public static void check(ByteBuffer idx, Dtype dtype, long documents, long tokens, String where) {
    ByteBuffer b = idx.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < HEADER_BYTES) {
      throw new IllegalArgumentException(
          where + ": truncated Megatron index (" + b.remaining() + " bytes)");
    }
    byte[] magic = new byte[MAGIC.length];
    b.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IllegalArgumentException(where + ": not a Megatron index (bad magic)");
    }
    long version = b.getLong();
    if (version != 1) {
      throw new IllegalArgumentException(
          where + ": Megatron index version " + version + " (expected 1)");
    }
    int code = b.get() & 0xFF;
    if (code != dtype.megatronCode()) {
      throw new IllegalArgumentException(
          where
              + ": Megatron dtype code "
              + code
              + ", manifest dtype "
              + dtype.id()
              + " is code "
              + dtype.megatronCode());
    }
    long seqs = b.getLong();
    long docs = b.getLong();
    if (seqs != documents || docs != documents + 1) {
      throw new IllegalArgumentException(
          where
              + ": "
              + seqs
              + " sequences and "
              + docs
              + " document indices for "
              + documents
              + " documents in the manifest");
    }
    if (idx.remaining() != size(seqs)) {
      throw new IllegalArgumentException(
          where + ": " + idx.remaining() + " bytes, expected " + size(seqs));
    }
    int lengths = b.position();
    int pointers = lengths + (int) (4 * seqs);
    int docIdx = pointers + (int) (8 * seqs);
    long sum = 0;
    for (int i = 0; i < seqs; i++) {
      int len = b.getInt(lengths + 4 * i);
      if (len <= 0) {
        throw new IllegalArgumentException(where + ": sequence " + i + " has length " + len);
      }
      if (b.getLong(pointers + 8 * i) != sum * dtype.bytes()) {
        throw new IllegalArgumentException(
            where + ": sequence " + i + " does not start where sequence " + (i - 1) + " ends");
      }
      sum += len;
    }
    if (sum != tokens) {
      throw new IllegalArgumentException(
          where + ": sequence lengths sum to " + sum + " tokens, the manifest says " + tokens);
    }
    for (int i = 0; i <= seqs; i++) {
      if (b.getLong(docIdx + 8 * i) != i) {
        throw new IllegalArgumentException(where + ": document index " + i + " is not " + i);
      }
    }
  }
}
