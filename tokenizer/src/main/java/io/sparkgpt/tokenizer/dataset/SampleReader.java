package io.sparkgpt.tokenizer.dataset;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The samples of one split. Sample {@code i} is the {@code i}-th non-overlapping window of {@code
 * sample_tokens = seq_len + 1} tokens, counting windows shard by shard from each shard's first
 * token: shard k's windows come after those of shards 0..k-1, and a shard's last {@code tokens %
 * sample_tokens} tokens belong to no sample. The model's inputs are {@code sample[0, seq_len)} and
 * its targets {@code sample[1, seq_len + 1)}. Immutable and safe for concurrent reads.
 */
public final class SampleReader {
  private final String split;
  private final Dtype dtype;
  private final int sampleTokens;
  private final int sampleBytes;
  private final int samplesPerChunk;

  /** starts[k] = first sample of shard k; starts[shards] = numSamples. */
  private final int[] starts;

  /** chunks[k][c] holds samples [c * samplesPerChunk, ...) of shard k, little-endian. */
  private final ByteBuffer[][] chunks;

  SampleReader(
      String split,
      Dtype dtype,
      int sampleTokens,
      int samplesPerChunk,
      int[] starts,
      List<ByteBuffer[]> chunks) {
    this.split = split;
    this.dtype = dtype;
    this.sampleTokens = sampleTokens;
    this.sampleBytes = sampleTokens * dtype.bytes();
    this.samplesPerChunk = samplesPerChunk;
    this.starts = starts;
    this.chunks = chunks.toArray(new ByteBuffer[0][]);
  }

  public String split() {
    return split;
  }

  public int numSamples() {
    return starts[starts.length - 1];
  }

  /** {@code seq_len + 1}. */
  public int sampleTokens() {
    return sampleTokens;
  }

  /**
   * Copies sample {@code i} into {@code out[0, sampleTokens())}. Constant time apart from a binary
   * search over the shards.
   */
  public void sample(int i, int[] out) {
    if (i < 0 || i >= numSamples()) {
      throw new IndexOutOfBoundsException(
          "sample " + i + " of " + numSamples() + " in split " + split);
    }
    if (out.length < sampleTokens) {
      throw new IllegalArgumentException(
          "output holds " + out.length + " ids, a sample has " + sampleTokens);
    }
    // the last shard whose first sample is <= i; empty shards share their start with the next one
    int lo = 0;
    int hi = starts.length - 2;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= i) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    int local = i - starts[lo];
    ByteBuffer b = chunks[lo][local / samplesPerChunk];
    int off = (local % samplesPerChunk) * sampleBytes;
    if (dtype.bytes() == 2) {
      for (int t = 0; t < sampleTokens; t++) {
        out[t] = b.getShort(off + 2 * t) & 0xFFFF;
      }
    } else {
      for (int t = 0; t < sampleTokens; t++) {
        out[t] = b.getInt(off + 4 * t);
      }
    }
  }

  public int[] sample(int i) {
    int[] out = new int[sampleTokens];
    sample(i, out);
    return out;
  }

  /** This split's order for an epoch: {@link #permutation}{@code (numSamples(), epoch, seed)}. */
  public int[] epochPermutation(long epoch, long seed) {
    return permutation(numSamples(), epoch, seed);
  }

  /**
   * This worker's part of the epoch order: {@link WorkerSlice#of}{@code (numSamples(), worker,
   * numWorkers)}.
   */
  public WorkerSlice slice(int worker, int numWorkers) {
    return WorkerSlice.of(numSamples(), worker, numWorkers);
  }

  /**
   * A permutation of {@code 0..n-1} that depends only on {@code (n, epoch, seed)}: Fisher-Yates,
   * for {@code i = n-1} down to 1 swapping {@code p[i]} with {@code p[j]}, {@code j = ((r >>> 32) *
   * (i + 1)) >>> 32}, where {@code r} are the outputs of SplitMix64 ({@code state +=
   * 0x9E3779B97F4A7C15; r = mix(state)}) started at {@code state = mix(seed ^ mix(epoch + 1))}, and
   * {@code mix(z)} is SplitMix64's finalizer: {@code z = (z ^ z>>>30) * 0xBF58476D1CE4E5B9; z = (z
   * ^ z>>>27) * 0x94D049BB133111EB; z ^ z>>>31} (64-bit, unsigned shifts). Specified here so that
   * any language reproduces it.
   */
  public static int[] permutation(int n, long epoch, long seed) {
    if (n < 0) {
      throw new IllegalArgumentException("negative size " + n);
    }
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    long state = mix(seed ^ mix(epoch + 1));
    for (int i = n - 1; i > 0; i--) {
      state += 0x9E3779B97F4A7C15L;
      long r = mix(state);
      int j = (int) (((r >>> 32) * (i + 1L)) >>> 32);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
