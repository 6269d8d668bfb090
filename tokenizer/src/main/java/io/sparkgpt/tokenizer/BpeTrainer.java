package io.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Trains byte-level BPE from pre-token counts (see {@link PreTokenCounter}), the way GPT-2's and
 * HuggingFace's trainers do, without ever recounting: pair counts are kept up to date as each merge
 * rewrites the words that contain the pair, and the next pair comes from a max-heap whose stale
 * entries are fixed when popped (a pair's count can only fall once counted, so a popped entry whose
 * count is still current is the true maximum).
 *
 * <p><b>Determinism.</b> The same counts give the same merges, whatever the map's iteration order:
 * the pair with the highest count is merged; ties go to the smaller (left id, right id), where ids
 * 0-255 are the byte values and merged tokens are numbered 256, 257, ... in the order they were
 * made.
 *
 * <p><b>Vocabulary.</b> Ids 0-255 are the bytes, then merged tokens in merge order, then the
 * special tokens. The vocabulary size counts all three; training stops early when no pair reaches
 * {@code minFrequency}.
 *
 * <p><b>Memory</b> grows with the distinct pre-tokens, not with the text: about 4 bytes per byte of
 * each distinct pre-token for its symbols, 4-8 more per pair occurrence for the pair-to-words
 * index, and ~40 bytes per distinct pair. {@code maxPreTokens} (default 2,000,000) caps the
 * distinct pre-tokens: beyond it the rarest are dropped (ties: the larger byte string goes first),
 * since rare pre-tokens barely move the merge order.
 */
public final class BpeTrainer {

  /** Progress of a training run, for logs. */
  public interface Progress {
    void merges(int done, int target, double mergesPerSecond);

    /** Called once if the distinct pre-tokens exceeded the cap. */
    default void pruned(int kept, int dropped) {}
  }

  private int vocabSize = 32_768;
  private long minFrequency = 2;
  private List<String> specialTokens = List.of("<|endoftext|>");
  private SplitPattern pattern = SplitPattern.GPT2;
  private int maxPreTokens = 2_000_000;
  private Progress progress;
  private String name = "bpe";

  /** Total vocabulary: 256 byte tokens + merges + special tokens. */
  public BpeTrainer vocabSize(int vocabSize) {
    this.vocabSize = vocabSize;
    return this;
  }

  /** A pair seen fewer times than this is never merged (default 2). */
  public BpeTrainer minFrequency(long minFrequency) {
    this.minFrequency = Math.max(1, minFrequency);
    return this;
  }

  /**
   * Special tokens, given the ids after the merges in this order (default {@code <|endoftext|>}).
   */
  public BpeTrainer specialTokens(List<String> specialTokens) {
    this.specialTokens = List.copyOf(specialTokens);
    return this;
  }

  /**
   * The split pattern stored in the trained tokenizer; it must be the one the counts were made
   * with.
   */
  public BpeTrainer pattern(SplitPattern pattern) {
    this.pattern = Objects.requireNonNull(pattern);
    return this;
  }

  public BpeTrainer maxPreTokens(int maxPreTokens) {
    this.maxPreTokens = maxPreTokens;
    return this;
  }

  public BpeTrainer progress(Progress progress) {
    this.progress = progress;
    return this;
  }

  public BpeTrainer name(String name) {
    this.name = name;
    return this;
  }

  /** Trains on pre-token text to count (as from {@link PreTokenCounter#counts()}). */
  public Tokenizer train(Map<String, Long> preTokenCounts) {
    return trainBpe(preTokenCounts);
  }

  ByteLevelBpe trainBpe(Map<String, Long> preTokenCounts) {
    byte[][] words = new byte[preTokenCounts.size()][];
    long[] counts = new long[words.length];
    int n = 0;
    for (Map.Entry<String, Long> e : preTokenCounts.entrySet()) {
      words[n] = ByteLevelBpe.utf8(e.getKey());
      counts[n++] = e.getValue();
    }
    return trainBpe(words, counts);
  }

  /** Trains on pre-tokens given as UTF-8 bytes (each distinct) with their counts. */
  ByteLevelBpe trainBpe(byte[][] preTokens, long[] counts) {
    int specials = specialTokens.size();
    if (vocabSize < 256 + specials) {
      throw new IllegalArgumentException(
          "vocabulary size " + vocabSize + " is below 256 bytes + " + specials + " special tokens");
    }
    if (preTokens.length != counts.length) {
      throw new IllegalArgumentException(
          preTokens.length + " pre-tokens but " + counts.length + " counts");
    }
    Integer[] order = keep(preTokens, counts);
    Run run = new Run(order.length);
    for (int w = 0; w < order.length; w++) {
      byte[] word = preTokens[order[w]];
      int[] s = new int[word.length];
      for (int i = 0; i < s.length; i++) {
        s[i] = word[i] & 0xFF;
      }
      run.symbols[w] = s;
      run.length[w] = s.length;
      run.count[w] = counts[order[w]];
    }
    run.countPairs();
    List<int[]> merges = run.merge(vocabSize - specials);

    byte[][] tokens = run.tokens.toArray(new byte[0][]);
    Map<String, Integer> specialIds = new LinkedHashMap<>();
    for (String s : specialTokens) {
      if (specialIds.putIfAbsent(s, tokens.length + specialIds.size()) != null) {
        throw new IllegalArgumentException("special token " + ByteLevel.quote(s) + " given twice");
      }
    }
    return ByteLevelBpe.fromMerges(
        name, pattern, tokens, merges.toArray(new int[0][]), false, specialIds);
  }

  /**
   * Indices of the pre-tokens to train on: all of them, or the {@code maxPreTokens} most frequent.
   */
  private Integer[] keep(byte[][] words, long[] counts) {
    Integer[] order = new Integer[words.length];
    for (int i = 0; i < order.length; i++) {
      if (words[i].length == 0 || counts[i] <= 0) {
        throw new IllegalArgumentException(
            "pre-token " + i + " is empty or has count " + counts[i]);
      }
      order[i] = i;
    }
    if (order.length <= maxPreTokens) {
      return order;
    }
    Arrays.sort(
        order,
        Comparator.<Integer>comparingLong(i -> -counts[i])
            .thenComparing((x, y) -> Arrays.compareUnsigned(words[x], words[y])));
    if (progress != null) {
      progress.pruned(maxPreTokens, order.length - maxPreTokens);
    }
    return Arrays.copyOf(order, maxPreTokens);
  }

  /** The state of one training run. */
  private final class Run {
    final int[][] symbols;
    final int[] length;
    final long[] count;
    final int[] lastMerge; // dedupes a word listed twice under one pair

    final LongLongMap pairIndex =
        new LongLongMap(1 << 16); // pair key -> index into the arrays below
    long[] pairKey = new long[1 << 16];
    long[] pairCount = new long[1 << 16];
    IntArray[] pairWords = new IntArray[1 << 16];
    int[] pairStamp = new int[1 << 16]; // last merge that listed the pair as new
    int pairs;

    long[] heapCount = new long[1 << 16];
    long[] heapKey = new long[1 << 16];
    int heapSize;

    final List<byte[]> tokens = new ArrayList<>();
    final Map<String, Integer> tokenIds = new HashMap<>();
    final IntArray fresh = new IntArray();

    Run(int words) {
      symbols = new int[words][];
      length = new int[words];
      count = new long[words];
      lastMerge = new int[words];
      Arrays.fill(lastMerge, -1);
      for (int b = 0; b < 256; b++) {
        tokens.add(new byte[] {(byte) b});
        tokenIds.put(latin1(tokens.get(b)), b);
      }
    }

    void countPairs() {
      for (int w = 0; w < symbols.length; w++) {
        int[] s = symbols[w];
        for (int i = 0; i + 1 < s.length; i++) {
          add(s[i], s[i + 1], count[w], w, -1);
        }
      }
      for (int p = 0; p < pairs; p++) {
        push(pairCount[p], pairKey[p]);
      }
    }

    /** Merges until there are {@code targetTokens} tokens or no pair is frequent enough. */
    List<int[]> merge(int targetTokens) {
      List<int[]> merges = new ArrayList<>();
      long started = System.nanoTime();
      while (tokens.size() < targetTokens && heapSize > 0) {
        long c = heapCount[0], key = heapKey[0];
        pop();
        int p = (int) pairIndex.get(key);
        if (pairCount[p] != c) {
          if (pairCount[p] > 0) {
            push(pairCount[p], key); // stale: counts only fall, so re-file it under its real count
          }
          continue;
        }
        if (c < minFrequency) {
          break;
        }
        int a = (int) (key >>> 32), b = (int) key;
        int z = tokenFor(a, b);
        int stamp = merges.size();
        merges.add(new int[] {a, b});
        IntArray words = pairWords[p];
        pairWords[p] = null;
        fresh.clear();
        for (int k = 0, n = words.size(); k < n; k++) {
          int w = words.get(k);
          if (lastMerge[w] != stamp) {
            lastMerge[w] = stamp;
            apply(w, a, b, z, stamp);
          }
        }
        for (int k = 0; k < fresh.size(); k++) {
          int q = fresh.get(k);
          if (pairCount[q] > 0) {
            push(pairCount[q], pairKey[q]);
          }
        }
        if (progress != null && (merges.size() % 1000 == 0 || tokens.size() == targetTokens)) {
          double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
          progress.merges(merges.size(), targetTokens - 256, merges.size() / seconds);
        }
      }
      return merges;
    }

    /**
     * The id of a+b: a new token, or the existing one if another merge already made these bytes.
     */
    int tokenFor(int a, int b) {
      byte[] x = tokens.get(a), y = tokens.get(b);
      byte[] xy = Arrays.copyOf(x, x.length + y.length);
      System.arraycopy(y, 0, xy, x.length, y.length);
      String key = latin1(xy);
      Integer id = tokenIds.get(key);
      if (id != null) {
        return id;
      }
      tokens.add(xy);
      tokenIds.put(key, tokens.size() - 1);
      return tokens.size() - 1;
    }

    /** Replaces a,b by z in word w, left to right, keeping the pair counts exact. */
    void apply(int w, int a, int b, int z, int stamp) {
      int[] s = symbols[w];
      int n = length[w];
      long c = count[w];
      int out = 0;
      for (int i = 0; i < n; ) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          add(a, b, -c, w, stamp);
          if (out > 0) {
            add(s[out - 1], a, -c, w, stamp); // s[out - 1] may be a z made just before
            add(s[out - 1], z, c, w, stamp);
          }
          if (i + 2 < n) {
            add(b, s[i + 2], -c, w, stamp);
            add(z, s[i + 2], c, w, stamp);
          }
          s[out++] = z;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      length[w] = out;
    }

    void add(int x, int y, long delta, int w, int stamp) {
      long key = (long) x << 32 | y;
      long idx = pairIndex.get(key);
      int p;
      if (idx == LongLongMap.MISSING) {
        p = pairs++;
        if (p == pairKey.length) {
          int cap = p * 2;
          pairKey = Arrays.copyOf(pairKey, cap);
          pairCount = Arrays.copyOf(pairCount, cap);
          pairWords = Arrays.copyOf(pairWords, cap);
          pairStamp = Arrays.copyOf(pairStamp, cap);
        }
        pairIndex.putIfAbsent(key, p);
        pairKey[p] = key;
        pairStamp[p] = -1;
      } else {
        p = (int) idx;
      }
      pairCount[p] += delta;
      if (delta > 0) {
        IntArray words = pairWords[p];
        if (words == null) {
          words = pairWords[p] = new IntArray(4);
        }
        if (words.size() == 0 || words.get(words.size() - 1) != w) {
          words.add(w);
        }
        if (stamp >= 0 && pairStamp[p] != stamp) {
          pairStamp[p] = stamp;
          fresh.add(p);
        }
      }
    }

    // Max-heap on (count, then smaller key).
    private boolean before(long c1, long k1, long c2, long k2) {
      return c1 > c2 || (c1 == c2 && k1 < k2);
    }

    void push(long c, long key) {
      if (heapSize == heapCount.length) {
        heapCount = Arrays.copyOf(heapCount, heapSize * 2);
        heapKey = Arrays.copyOf(heapKey, heapSize * 2);
      }
      int i = heapSize++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (!before(c, key, heapCount[parent], heapKey[parent])) {
          break;
        }
        heapCount[i] = heapCount[parent];
        heapKey[i] = heapKey[parent];
        i = parent;
      }
      heapCount[i] = c;
      heapKey[i] = key;
    }

    void pop() {
      long c = heapCount[--heapSize], key = heapKey[heapSize];
      int i = 0;
      while (true) {
        int child = 2 * i + 1;
        if (child >= heapSize) {
          break;
        }
        if (child + 1 < heapSize
            && before(heapCount[child + 1], heapKey[child + 1], heapCount[child], heapKey[child])) {
          child++;
        }
        if (!before(heapCount[child], heapKey[child], c, key)) {
          break;
        }
        heapCount[i] = heapCount[child];
        heapKey[i] = heapKey[child];
        i = child;
      }
      heapCount[i] = c;
      heapKey[i] = key;
    }
  }

  private static String latin1(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }
}
