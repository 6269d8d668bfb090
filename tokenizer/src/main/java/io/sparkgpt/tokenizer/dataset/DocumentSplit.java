package io.sparkgpt.tokenizer.dataset;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Deterministic, partition-independent decisions per document, from its id alone: which split it
 * goes to, its place in the global shuffle and its shard. The id must be stable across reruns (for
 * example a hash of the source file and the record's position, or of the text, which also sends
 * exact duplicates to the same split).
 *
 * <p>All three derive from {@code h(domain, seed, id)} = the first 8 bytes, read little-endian, of
 * {@code sha256(domain + 0x00 + seed as 8 little-endian bytes + id as UTF-8)}, with domain {@code
 * "val"} or {@code "shuffle"}. In Python: {@code int.from_bytes(hashlib.sha256(b"val\0" +
 * struct.pack("<q", seed) + id.encode()).digest()[:8], "little")}.
 */
public final class DocumentSplit {
  private static final ThreadLocal<MessageDigest> SHA = ThreadLocal.withInitial(Sha256::newDigest);

  private DocumentSplit() {}

  /**
   * Whether the document belongs to the validation split: {@code (h("val", seed, id) >>> 11) *
   * 2^-53 < valFraction}. Every document is in exactly one split, and the answer never depends on
   * partitioning.
   */
  public static boolean isValidation(String docId, double valFraction, long seed) {
    if (!(valFraction >= 0 && valFraction <= 1)) {
      throw new IllegalArgumentException(
          "validation fraction must be in [0, 1], got " + valFraction);
    }
    return (hash("val", seed, docId) >>> 11) * 0x1.0p-53 < valFraction;
  }

  /** The split name, {@link Manifest#VALIDATION} or {@link Manifest#TRAIN}. */
  public static String split(String docId, double valFraction, long seed) {
    return isValidation(docId, valFraction, seed) ? Manifest.VALIDATION : Manifest.TRAIN;
  }

  /**
   * The document's key in the global shuffle, {@code h("shuffle", seed, id)}: sort by it (unsigned)
   * to shuffle.
   */
  public static long shuffleKey(String docId, long seed) {
    return hash("shuffle", seed, docId);
  }

  /**
   * The shard of a document with this shuffle key: {@code floor(key * numShards / 2^64)}, key
   * unsigned, so that shard k holds the k-th range of keys and the shards in order, each sorted by
   * key, are the global shuffle.
   */
  public static int shardOf(long shuffleKey, int numShards) {
    if (numShards <= 0) {
      throw new IllegalArgumentException("number of shards must be positive, got " + numShards);
    }
    // unsigned high 64 bits of shuffleKey * numShards
    long hi = Math.multiplyHigh(shuffleKey, numShards) + ((shuffleKey >> 63) & numShards);
    return (int) hi;
  }

  /** Orders shuffle keys as unsigned numbers: the order within a shard. */
  public static int compareKeys(long a, long b) {
    return Long.compareUnsigned(a, b);
  }

  static long hash(String domain, long seed, String id) {
    MessageDigest md = SHA.get();
    md.reset();
    md.update(domain.getBytes(StandardCharsets.US_ASCII));
    md.update((byte) 0);
    for (int i = 0; i < 8; i++) {
      md.update((byte) (seed >>> (8 * i)));
    }
    md.update(id.getBytes(StandardCharsets.UTF_8));
    byte[] d = md.digest();
    long h = 0;
    for (int i = 7; i >= 0; i--) {
      h = (h << 8) | (d[i] & 0xFF);
    }
    return h;
  }
}
