package io.sparkgpt.tokenizer.dataset;

import java.util.List;

/**
 * The training order: global sample position to sample. One split reads position {@code pos} as its
 * sample {@code perm_e[pos mod n]}, {@code e = pos / n}, {@code perm_e =
 * SampleReader.permutation(n, e, seed)}; a {@link Mixture} first picks the source and the source's
 * own position, then does the same in that source with a seed of its own. Each position is computed
 * alone, so any worker reads any position. Not thread-safe (it caches the current epoch's
 * permutation per source): one instance per reader.
 */
public final class SampleOrder {
  private final SampleReader[] splits;
  private final long[] seeds;
  private final Mixture mixture;
  private final long[] epoch;
  private final int[][] perm;
  private final long[] where = new long[2];

  /** File order in each source (validation), not permuted epochs. */
  private final boolean inFileOrder;

  private SampleOrder(
      List<SampleReader> splits, long[] seeds, Mixture mixture, boolean inFileOrder) {
    this.inFileOrder = inFileOrder;
    this.splits = splits.toArray(SampleReader[]::new);
    this.seeds = seeds;
    this.mixture = mixture;
    this.epoch = new long[this.splits.length];
    java.util.Arrays.fill(epoch, -1);
    this.perm = new int[this.splits.length][];
    for (SampleReader r : this.splits) {
      if (r.sampleTokens() != this.splits[0].sampleTokens()) {
        throw new IllegalArgumentException(
            "mixture sources hold samples of different lengths: "
                + r.sampleTokens()
                + " and "
                + this.splits[0].sampleTokens()
                + " tokens");
      }
    }
  }

  /** One split in per-epoch permuted order. */
  public static SampleOrder of(SampleReader train, long seed) {
    if (train.numSamples() == 0) {
      throw new IllegalArgumentException("the train split has no samples");
    }
    return new SampleOrder(List.of(train), new long[] {seed}, null, false);
  }

  /**
   * A blend of {@code trains} (in {@code mixture}'s source order), each in its own per-epoch order.
   */
  public static SampleOrder of(List<SampleReader> trains, List<Mixture.Source> sources, long seed) {
    long[] sizes = new long[trains.size()];
    long[] seeds = new long[trains.size()];
    for (int s = 0; s < sizes.length; s++) {
      sizes[s] = trains.get(s).numSamples();
      seeds[s] = seed ^ (0x9E3779B97F4A7C15L * (s + 1));
    }
    return new SampleOrder(trains, seeds, new Mixture(sources, sizes, seed), false);
  }

  /**
   * Validation samples of a blend: the sources' val splits (those that have samples) interleaved by
   * weight, each read in file order, wrapping around; no caps.
   */
  public static SampleOrder validation(List<SampleReader> vals, List<Mixture.Source> sources) {
    List<SampleReader> used = new java.util.ArrayList<>();
    List<Mixture.Source> blend = new java.util.ArrayList<>();
    for (int s = 0; s < vals.size(); s++) {
      if (vals.get(s) != null && vals.get(s).numSamples() > 0) {
        used.add(vals.get(s));
        blend.add(new Mixture.Source(sources.get(s).name(), sources.get(s).weight(), 0));
      }
    }
    if (used.isEmpty()) {
      return null;
    }
    long[] sizes = used.stream().mapToLong(SampleReader::numSamples).toArray();
    return new SampleOrder(used, new long[used.size()], new Mixture(blend, sizes, 0), true);
  }

  /** Tokens per sample (seq_len + 1). */
  public int sampleTokens() {
    return splits[0].sampleTokens();
  }

  /** The blend, or null for one split. */
  public Mixture mixture() {
    return mixture;
  }

  /** Positions that can be read: unbounded for one split, the mixture's capacity otherwise. */
  public long capacity() {
    return mixture == null ? Long.MAX_VALUE : mixture.capacity();
  }

  /** Reads the sample at global position {@code pos} into {@code out}. */
  public void sample(long pos, int[] out) {
    int s = 0;
    long p = pos;
    if (mixture != null) {
      mixture.at(pos, where);
      s = (int) where[0];
      p = where[1];
    }
    SampleReader r = splits[s];
    int n = r.numSamples();
    if (inFileOrder) {
      r.sample((int) (p % n), out);
      return;
    }
    long e = p / n;
    if (e != epoch[s]) {
      perm[s] = SampleReader.permutation(n, e, seeds[s]);
      epoch[s] = e;
    }
    r.sample(perm[s][(int) (p % n)], out);
  }
}
