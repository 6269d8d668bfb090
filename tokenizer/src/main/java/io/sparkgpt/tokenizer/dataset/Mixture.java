package io.sparkgpt.tokenizer.dataset;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A token-weighted blend of training sources, as a pure function from a global sample position to
 * (source, the source's own position). Every source's samples hold the same number of tokens, so
 * shares of samples are shares of tokens.
 *
 * <p>Positions come in blocks of {@link #BLOCK}. In a block each active source owns a quota of
 * slots proportional to its weight (largest remainder), and the slots are dealt in a seeded order
 * that depends only on the block number. A source with an epoch cap ({@code max_epochs}) stays in
 * the blend for as many whole blocks as its cap allows; after that the remaining sources share its
 * slots by their weights (a new phase). So the blend is:
 *
 * <ul>
 *   <li>deterministic for a seed, and the same whatever the number of workers (each position is
 *       computed alone);
 *   <li>identical after a resume at any position: every position is drawn exactly once, as
 *       scheduled;
 *   <li>exact in its shares at every block boundary (to one slot in {@value #BLOCK}).
 * </ul>
 *
 * A source's position {@code p} is its sample {@code perm_e[p mod n]}, {@code e = p / n}: its own
 * epochs ({@link SampleOrder}). Not thread-safe (it caches the current block's slots): one instance
 * per reader.
 */
public final class Mixture {
  /** Slots per block: the resolution of the weights. */
  public static final int BLOCK = 4096;

  /**
   * @param name a short name (metrics key)
   * @param weight share of training tokens, relative to the other sources' weights
   * @param maxEpochs at most this many passes over the source's samples; 0 = no cap
   */
  public record Source(String name, double weight, double maxEpochs)
      implements java.io.Serializable {
    public Source {
      if (name == null || !name.matches("[A-Za-z0-9_.-]+")) {
        throw new IllegalArgumentException(
            "mixture source name '" + name + "': use letters, digits, _ . -");
      }
      if (!(weight > 0) || Double.isInfinite(weight)) {
        throw new IllegalArgumentException(
            "mixture source " + name + ": weight " + weight + " must be > 0");
      }
      if (!(maxEpochs >= 0) || Double.isInfinite(maxEpochs)) {
        throw new IllegalArgumentException(
            "mixture source " + name + ": max_epochs " + maxEpochs + " must be >= 0");
      }
    }
  }

  /**
   * {@code blocks} blocks of {@code length} positions from {@code first} (block ids from {@code
   * firstBlock}), with fixed quotas; {@code before[s]}: source s's positions before the phase.
   */
  private record Phase(
      long first, long blocks, int length, int[] quota, long[] before, long firstBlock) {
    long end() {
      return blocks == Long.MAX_VALUE ? Long.MAX_VALUE : first + blocks * length;
    }
  }

  private final List<Source> sources;
  private final long[] sizes;
  private final long seed;
  private final List<Phase> phases = new ArrayList<>();

  /**
   * The block whose slot order is cached, its slots' sources and each slot's rank among its
   * source's slots.
   */
  private long cachedBlock = -1;

  private final int[] slotSource = new int[BLOCK];
  private final int[] slotRank = new int[BLOCK];

  /**
   * @param sources the sources, in a fixed order (the order is part of the schedule)
   * @param sizes samples in each source's train split (each > 0)
   * @param seed the data seed
   */
  public Mixture(List<Source> sources, long[] sizes, long seed) {
    if (sources.isEmpty() || sources.size() != sizes.length) {
      throw new IllegalArgumentException("a mixture needs one size per source");
    }
    for (int s = 0; s < sizes.length; s++) {
      if (sizes[s] <= 0) {
        throw new IllegalArgumentException(
            "mixture source " + sources.get(s).name() + " has no training samples");
      }
    }
    this.sources = List.copyOf(sources);
    this.sizes = sizes.clone();
    this.seed = seed;
    plan();
  }

  /**
   * Whole blocks while every capped source has a block's quota left; then one shorter block in
   * which the sources that have less left take exactly what is left (so a cap is met exactly), and
   * those sources leave the blend.
   */
  private void plan() {
    int n = sources.size();
    boolean[] active = new boolean[n];
    Arrays.fill(active, true);
    long[] drawn = new long[n];
    long pos = 0;
    long block = 0;
    while (true) {
      int[] quota = quotas(active);
      long whole = Long.MAX_VALUE;
      for (int s = 0; s < n; s++) {
        if (active[s] && sources.get(s).maxEpochs() > 0) {
          whole = Math.min(whole, (limit(s) - drawn[s]) / quota[s]);
        }
      }
      if (whole > 0) {
        phases.add(new Phase(pos, whole, BLOCK, quota, drawn.clone(), block));
      }
      if (whole == Long.MAX_VALUE) {
        return;
      }
      pos += whole * BLOCK;
      block += whole;
      int[] last = quota.clone();
      int length = 0;
      boolean any = false;
      for (int s = 0; s < n; s++) {
        drawn[s] += whole * quota[s];
        if (active[s] && sources.get(s).maxEpochs() > 0 && limit(s) - drawn[s] < quota[s]) {
          last[s] = (int) (limit(s) - drawn[s]);
          active[s] = false;
        }
        length += last[s];
        any |= active[s];
      }
      if (length > 0) {
        phases.add(new Phase(pos, 1, length, last, drawn.clone(), block));
        for (int s = 0; s < n; s++) {
          drawn[s] += last[s];
        }
        pos += length;
        block++;
      }
      if (!any) {
        return;
      }
    }
  }

  private long limit(int s) {
    return (long) Math.floor(sources.get(s).maxEpochs() * sizes[s]);
  }

  /**
   * Slots per block for the active sources: largest remainder of BLOCK x weight share, at least one
   * each.
   */
  private int[] quotas(boolean[] active) {
    int n = sources.size();
    double total = 0;
    for (int s = 0; s < n; s++) {
      total += active[s] ? sources.get(s).weight() : 0;
    }
    int[] q = new int[n];
    double[] rest = new double[n];
    int given = 0;
    for (int s = 0; s < n; s++) {
      if (active[s]) {
        double exact = BLOCK * sources.get(s).weight() / total;
        q[s] = (int) Math.floor(exact);
        rest[s] = exact - q[s];
        given += q[s];
      }
    }
    for (; given < BLOCK; given++) {
      int best = -1;
      for (int s = 0; s < n; s++) {
        if (active[s] && (best < 0 || rest[s] > rest[best])) {
          best = s;
        }
      }
      q[best]++;
      rest[best] = -1;
    }
    for (int s = 0; s < n; s++) { // a tiny weight still gets a slot, taken from the largest quota
      if (active[s] && q[s] == 0) {
        int largest = 0;
        for (int t = 1; t < n; t++) {
          largest = q[t] > q[largest] ? t : largest;
        }
        q[largest]--;
        q[s] = 1;
      }
    }
    return q;
  }

  public List<Source> sources() {
    return sources;
  }

  /**
   * Positions the blend can serve before every capped source is spent; {@code Long.MAX_VALUE} if
   * unbounded.
   */
  public long capacity() {
    return phases.isEmpty() ? 0 : phases.get(phases.size() - 1).end();
  }

  private Phase phase(long pos) {
    if (pos >= capacity()) {
      throw new IllegalArgumentException(
          "mixture position "
              + pos
              + " is past its capacity "
              + capacity()
              + " (every source with max_epochs is spent)");
    }
    int lo = 0;
    int hi = phases.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (phases.get(mid).first <= pos) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return phases.get(lo);
  }

  /**
   * Deals block {@code block} (of {@code p}): its slots' sources in a seeded order, and their
   * ranks.
   */
  private void deal(long block, Phase p) {
    if (block == cachedBlock) {
      return;
    }
    int[] order = SampleReader.permutation(p.length, block, seed ^ 0x6D69787475726573L);
    int[] slots = new int[p.length];
    int k = 0;
    for (int s = 0; s < p.quota.length; s++) {
      for (int j = 0; j < p.quota[s]; j++) {
        slots[k++] = s;
      }
    }
    int[] seen = new int[p.quota.length];
    for (int i = 0; i < p.length; i++) {
      int s = slots[order[i]];
      slotSource[i] = s;
      slotRank[i] = seen[s]++;
    }
    cachedBlock = block;
  }

  /**
   * Where global position {@code pos} draws from: {@code out[0]} the source index, {@code out[1]}
   * the source's own position (count of its earlier draws).
   */
  public void at(long pos, long[] out) {
    Phase p = phase(pos);
    long k = (pos - p.first) / p.length;
    int slot = (int) ((pos - p.first) % p.length);
    deal(p.firstBlock + k, p);
    int s = slotSource[slot];
    out[0] = s;
    out[1] = p.before[s] + k * p.quota[s] + slotRank[slot];
  }

  /** Samples drawn from each source at positions {@code [0, positions)}. */
  public long[] drawn(long positions) {
    long[] out = new long[sources.size()];
    if (positions <= 0) {
      return out;
    }
    Phase p = phase(positions - 1);
    long k = (positions - p.first) / p.length;
    int slot = (int) ((positions - p.first) % p.length);
    for (int s = 0; s < out.length; s++) {
      out[s] = p.before[s] + k * p.quota[s];
    }
    if (slot > 0) {
      deal(p.firstBlock + k, p);
      for (int i = 0; i < slot; i++) {
        out[slotSource[i]]++;
      }
    }
    return out;
  }

  /** Each source's realised share of {@code [0, positions)}. */
  public double[] shares(long positions) {
    long[] d = drawn(positions);
    double[] out = new double[d.length];
    for (int s = 0; s < d.length; s++) {
      out[s] = positions == 0 ? 0 : d[s] / (double) positions;
    }
    return out;
  }
}
