package io.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts the pre-tokens of text, the input of {@link BpeTrainer}. A Spark job runs one per
 * partition and reduces the maps by key. Memory is bounded: past {@code maxDistinct} entries the
 * rarest are dropped (all entries at or below a count threshold, chosen to leave at most half of
 * {@code maxDistinct}), so counts become approximate only for text with more distinct pre-tokens
 * than the cap. Not thread-safe: one per task.
 */
public final class PreTokenCounter {
  private final SplitPattern pattern;
  private final int maxDistinct;
  private final HashMap<String, long[]> counts = new HashMap<>();
  private long dropped;

  public PreTokenCounter(SplitPattern pattern) {
    this(pattern, 4_000_000);
  }

  public PreTokenCounter(SplitPattern pattern, int maxDistinct) {
    if (maxDistinct < 2) {
      throw new IllegalArgumentException("maxDistinct must be at least 2");
    }
    this.pattern = pattern;
    this.maxDistinct = maxDistinct;
  }

  /** Counts every piece of {@code text} (text is split exactly as the encoder splits it). */
  public void add(CharSequence text) {
    String s = text.toString();
    for (int i = 0, n = s.length(); i < n; ) {
      int j = pattern.next(s, i, n);
      add(s.substring(i, j), 1);
      i = j;
    }
  }

  /** Adds {@code count} occurrences of one pre-token (for merging counts made elsewhere). */
  public void add(String preToken, long count) {
    long[] c = counts.get(preToken);
    if (c != null) {
      c[0] += count;
      return;
    }
    counts.put(preToken, new long[] {count});
    if (counts.size() > maxDistinct) {
      prune();
    }
  }

  /** A snapshot of pre-token to count. */
  public Map<String, Long> counts() {
    Map<String, Long> m = new HashMap<>(counts.size() * 2);
    counts.forEach((k, v) -> m.put(k, v[0]));
    return m;
  }

  public int distinct() {
    return counts.size();
  }

  /** Occurrences dropped by pruning so far (0 unless the cap was hit). */
  public long dropped() {
    return dropped;
  }

  /** The counts of one text; convenient for small inputs and tests. */
  public static Map<String, Long> count(CharSequence text, SplitPattern pattern) {
    PreTokenCounter c = new PreTokenCounter(pattern, Integer.MAX_VALUE);
    c.add(text);
    return c.counts();
  }

  private void prune() {
    List<Long> values = new ArrayList<>(counts.size());
    counts.values().forEach(v -> values.add(v[0]));
    Collections.sort(values);
    // Keep at most maxDistinct / 2: everything strictly above the count at that rank from the top.
    long threshold = values.get(values.size() - 1 - maxDistinct / 2);
    counts
        .values()
        .removeIf(
            v -> {
              if (v[0] <= threshold) {
                dropped += v[0];
                return true;
              }
              return false;
            });
  }
}
