package io.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Byte-level BPE as GPT-2 and tiktoken define it: text is cut into pieces by a {@link
 * SplitPattern}, each piece is UTF-8 encoded, its bytes become single-byte tokens, and adjacent
 * tokens are merged, lowest rank first (leftmost on ties), until no adjacent pair has a rank.
 *
 * <p>Two flavours share the code and differ only in what "rank of a pair" means:
 *
 * <ul>
 *   <li>tiktoken ({@link #fromRanks}): a pair's rank is the rank (= id) of the concatenated token,
 *       whenever that token exists; a piece that is itself a token is that token.
 *   <li>HuggingFace ({@link #fromMerges}): only the listed merges exist, ranked by list position. A
 *       piece is looked up whole only where that cannot change the result (the token is what
 *       merging its own bytes gives), or for every token when the file sets {@code ignore_merges}.
 * </ul>
 *
 * Both are a pair table {@code (left id, right id) -> (rank, merged id)}, so one merge loop serves
 * both.
 *
 * <p>Immutable and thread-safe; per-thread scratch buffers make encoding allocation-free apart from
 * the output.
 */
final class ByteLevelBpe implements Tokenizer {
  private static final int NO_RANK = Integer.MAX_VALUE;

  /** Pieces longer than this use the O(n log n) heap merge instead of the O(n^2) scan. */
  private static final int DEFAULT_SMALL_PIECE = 256;

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private final String name;
  private final SplitPattern pattern;
  private final boolean tiktoken;
  private final byte[] pool; // all token bytes, specials included
  private final int[] start;
  private final int[] length; // -1: id not in the vocabulary
  private final int[] byteToken = new int[256];
  private final LongLongMap pairs; // (left << 32 | right) -> (rank << 32 | merged id)
  private final BytesIntMap whole; // pieces that may be looked up whole
  private final int[][]
      merges; // HuggingFace flavour: the merge list, for saving; null for tiktoken
  private final boolean ignoreMerges;
  private final String[] specialText;
  private final int[] specialId;
  private final Map<String, Integer> specials;
  private final int endOfText;
  private final int smallPiece;

  /**
   * tiktoken flavour: {@code tokens[rank]} is the byte string of rank (and id) {@code rank}; null
   * marks an unused id. Every single byte must be a token.
   */
  public static ByteLevelBpe fromRanks(
      String name, SplitPattern pattern, byte[][] tokens, Map<String, Integer> specials) {
    return new ByteLevelBpe(name, pattern, tokens, null, false, specials, DEFAULT_SMALL_PIECE);
  }

  /**
   * HuggingFace flavour: {@code tokens[id]} is the byte string of id {@code id} (null: unused), and
   * {@code merges[r] = {left id, right id}} is the merge of rank {@code r}. Every single byte must
   * be a token.
   */
  public static ByteLevelBpe fromMerges(
      String name,
      SplitPattern pattern,
      byte[][] tokens,
      int[][] merges,
      boolean ignoreMerges,
      Map<String, Integer> specials) {
    return new ByteLevelBpe(
        name, pattern, tokens, merges, ignoreMerges, specials, DEFAULT_SMALL_PIECE);
  }

  private ByteLevelBpe(
      String name,
      SplitPattern pattern,
      byte[][] tokens,
      int[][] merges,
      boolean ignoreMerges,
      Map<String, Integer> specials,
      int smallPiece) {
    this.name = name;
    this.pattern = pattern;
    this.tiktoken = merges == null;
    this.merges = merges == null ? null : deepCopy(merges);
    this.ignoreMerges = ignoreMerges;
    this.smallPiece = smallPiece;

    int vocab = tokens.length;
    for (Map.Entry<String, Integer> e : specials.entrySet()) {
      int id = e.getValue();
      if (id < 0) {
        throw new IllegalArgumentException(
            "special token " + ByteLevel.quote(e.getKey()) + " has negative id " + id);
      }
      if (id < tokens.length && tokens[id] != null) {
        throw new IllegalArgumentException(
            "special token "
                + ByteLevel.quote(e.getKey())
                + " reuses id "
                + id
                + " of an ordinary token");
      }
      vocab = Math.max(vocab, id + 1);
    }
    start = new int[vocab];
    length = new int[vocab];
    Arrays.fill(length, -1);
    long poolSize = 0;
    for (byte[] t : tokens) {
      poolSize += t == null ? 0 : t.length;
    }
    for (String s : specials.keySet()) {
      poolSize += s.getBytes(StandardCharsets.UTF_8).length;
    }
    if (poolSize > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("vocabulary too large: " + poolSize + " bytes");
    }
    pool = new byte[(int) poolSize];
    int at = 0;
    boolean[] ordinary = new boolean[vocab];
    Arrays.fill(byteToken, -1);
    for (int id = 0; id < tokens.length; id++) {
      byte[] t = tokens[id];
      if (t == null) {
        continue;
      }
      if (t.length == 0) {
        throw new IllegalArgumentException("token " + id + " is empty");
      }
      System.arraycopy(t, 0, pool, at, t.length);
      start[id] = at;
      length[id] = t.length;
      at += t.length;
      ordinary[id] = true;
      if (t.length == 1) {
        if (byteToken[t[0] & 0xFF] >= 0) {
          throw new IllegalArgumentException(
              "byte 0x"
                  + Integer.toHexString(t[0] & 0xFF)
                  + " is both token "
                  + byteToken[t[0] & 0xFF]
                  + " and token "
                  + id);
        }
        byteToken[t[0] & 0xFF] = id;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (byteToken[b] < 0) {
        throw new IllegalArgumentException(
            "vocabulary lacks the single-byte token 0x"
                + Integer.toHexString(b)
                + " (byte-level BPE needs all 256; truncated file?)");
      }
    }
    specialText = new String[specials.size()];
    specialId = new int[specials.size()];
    int k = 0;
    Map<String, Integer> sorted = new LinkedHashMap<>();
    specials.entrySet().stream()
        .sorted(Map.Entry.comparingByValue())
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    for (Map.Entry<String, Integer> e : sorted.entrySet()) {
      if (e.getKey().isEmpty()) {
        throw new IllegalArgumentException("empty special token");
      }
      byte[] b = e.getKey().getBytes(StandardCharsets.UTF_8);
      int id = e.getValue();
      if (length[id] >= 0) {
        throw new IllegalArgumentException("two special tokens share id " + id);
      }
      System.arraycopy(b, 0, pool, at, b.length);
      start[id] = at;
      length[id] = b.length;
      at += b.length;
      specialText[k] = e.getKey();
      specialId[k++] = id;
    }
    this.specials = Collections.unmodifiableMap(sorted);
    Integer eot = sorted.get("<|endoftext|>");
    this.endOfText = eot != null ? eot : -1;

    if (tiktoken) {
      pairs = pairsFromRanks(tokens);
      whole = new BytesIntMap(pool, start, length, ordinary);
    } else {
      pairs = pairsFromMerges(tokens, this.merges);
      if (!ignoreMerges) {
        // A token can be looked up whole only if merging its own bytes yields it.
        Scratch sc = new Scratch();
        for (int id = 0; id < tokens.length; id++) {
          if (ordinary[id] && length[id] > 1) {
            sc.ensure(length[id]);
            System.arraycopy(pool, start[id], sc.bytes, 0, length[id]);
            int m = mergeSmall(sc.bytes, length[id], sc, NO_RANK);
            ordinary[id] = m == 1 && sc.tok[0] == id;
          }
        }
      }
      whole = new BytesIntMap(pool, start, length, ordinary);
    }
  }

  /**
   * Same tables, different small/large threshold: lets tests drive both merge loops over the same
   * input.
   */
  ByteLevelBpe withSmallPieceLimit(int limit) {
    return new ByteLevelBpe(this, limit);
  }

  private ByteLevelBpe(ByteLevelBpe o, int smallPiece) {
    name = o.name;
    pattern = o.pattern;
    tiktoken = o.tiktoken;
    pool = o.pool;
    start = o.start;
    length = o.length;
    System.arraycopy(o.byteToken, 0, byteToken, 0, 256);
    pairs = o.pairs;
    whole = o.whole;
    merges = o.merges;
    ignoreMerges = o.ignoreMerges;
    specialText = o.specialText;
    specialId = o.specialId;
    specials = o.specials;
    endOfText = o.endOfText;
    this.smallPiece = smallPiece;
  }

  // Every split of every token into two tokens is a pair whose rank is the token's: exactly
  // tiktoken's rule
  // "merge the adjacent pair whose concatenation has the lowest rank", since the parts are always
  // tokens.
  private LongLongMap pairsFromRanks(byte[][] tokens) {
    BytesIntMap all = new BytesIntMap(pool, start, length, present(tokens));
    LongLongMap map = new LongLongMap(tokens.length * 4);
    for (int id = 0; id < tokens.length; id++) {
      byte[] t = tokens[id];
      if (t == null || t.length < 2) {
        continue;
      }
      for (int p = 1; p < t.length; p++) {
        int left = all.get(t, 0, p);
        int right = left < 0 ? -1 : all.get(t, p, t.length - p);
        if (right >= 0) {
          map.putIfAbsent(pairKey(left, right), (long) id << 32 | id);
        }
      }
    }
    return map;
  }

  private LongLongMap pairsFromMerges(byte[][] tokens, int[][] merges) {
    BytesIntMap all = new BytesIntMap(pool, start, length, present(tokens));
    LongLongMap map = new LongLongMap(merges.length);
    byte[] buf = new byte[64];
    for (int r = 0; r < merges.length; r++) {
      int left = merges[r][0], right = merges[r][1];
      if (!isToken(left, tokens) || !isToken(right, tokens)) {
        throw new IllegalArgumentException(
            "merge " + r + " refers to a token id that is not in the vocabulary");
      }
      int n = length[left] + length[right];
      if (buf.length < n) {
        buf = new byte[n * 2];
      }
      System.arraycopy(pool, start[left], buf, 0, length[left]);
      System.arraycopy(pool, start[right], buf, length[left], length[right]);
      int merged = all.get(buf, 0, n);
      if (merged < 0) {
        throw new IllegalArgumentException(
            "merge "
                + r
                + " ("
                + ByteLevel.encode(tokenBytes(left))
                + " "
                + ByteLevel.encode(tokenBytes(right))
                + ") makes a token that is not in the vocabulary");
      }
      // HuggingFace keeps the first rank of a duplicated merge line as well (later ones are dead).
      map.putIfAbsent(pairKey(left, right), (long) r << 32 | merged);
    }
    return map;
  }

  private static boolean isToken(int id, byte[][] tokens) {
    return id >= 0 && id < tokens.length && tokens[id] != null;
  }

  private static boolean[] present(byte[][] tokens) {
    boolean[] p = new boolean[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      p[i] = tokens[i] != null;
    }
    return p;
  }

  private static long pairKey(int left, int right) {
    return (long) left << 32 | right;
  }

  @Override
  public String name() {
    return name;
  }

  public SplitPattern pattern() {
    return pattern;
  }

  @Override
  public int vocabSize() {
    return length.length;
  }

  @Override
  public Map<String, Integer> specialTokens() {
    return specials;
  }

  @Override
  public int endOfTextId() {
    return endOfText;
  }

  /** A copy of the bytes of token {@code id}. */
  public byte[] tokenBytes(int id) {
    checkId(id);
    return Arrays.copyOfRange(pool, start[id], start[id] + length[id]);
  }

  /** True if {@code id} is one of the special tokens. */
  public boolean isSpecial(int id) {
    for (int s : specialId) {
      if (s == id) {
        return true;
      }
    }
    return false;
  }

  boolean isValidId(int id) {
    return id >= 0 && id < length.length && length[id] >= 0;
  }

  boolean isTiktokenFlavour() {
    return tiktoken;
  }

  boolean ignoresMerges() {
    return ignoreMerges;
  }

  @Override
  public int encode(CharSequence text, Set<String> allowedSpecial, IntArray out) {
    int before = out.size();
    Scratch sc = SCRATCH.get();
    int n = text.length();
    if (allowedSpecial.isEmpty()) {
      encodeOrdinary(text, 0, n, sc, out);
    } else {
      encodeWithSpecials(text, allowedSpecial, sc, out);
    }
    if (sc.bytes.length > 1 << 20) {
      SCRATCH.remove(); // don't pin a huge buffer to a pooled thread after one giant piece
    }
    return out.size() - before;
  }

  private void encodeWithSpecials(
      CharSequence text, Set<String> allowed, Scratch sc, IntArray out) {
    String s = text.toString();
    int[] which = new int[allowed.size()];
    int k = 0;
    for (String a : allowed) {
      int i = indexOfSpecial(a);
      if (i < 0) {
        throw new IllegalArgumentException(
            ByteLevel.quote(a) + " is not a special token of " + name);
      }
      which[k++] = i;
    }
    int[] nextAt = new int[k];
    for (int j = 0; j < k; j++) {
      nextAt[j] = s.indexOf(specialText[which[j]]);
    }
    int pos = 0;
    while (true) {
      int best = -1;
      for (int j = 0; j < k; j++) {
        if (nextAt[j] >= 0 && nextAt[j] < pos) {
          nextAt[j] = s.indexOf(specialText[which[j]], pos);
        }
        if (nextAt[j] >= 0
            && (best < 0
                || nextAt[j] < nextAt[best]
                || (nextAt[j] == nextAt[best]
                    && specialText[which[j]].length() > specialText[which[best]].length()))) {
          best = j;
        }
      }
      if (best < 0) {
        encodeOrdinary(s, pos, s.length(), sc, out);
        return;
      }
      encodeOrdinary(s, pos, nextAt[best], sc, out);
      out.add(specialId[which[best]]);
      pos = nextAt[best] + specialText[which[best]].length();
    }
  }

  private int indexOfSpecial(String text) {
    for (int i = 0; i < specialText.length; i++) {
      if (specialText[i].equals(text)) {
        return i;
      }
    }
    return -1;
  }

  private void encodeOrdinary(CharSequence s, int from, int to, Scratch sc, IntArray out) {
    SplitPattern p = pattern;
    for (int i = from; i < to; ) {
      int j = p.next(s, i, to);
      int len = utf8(s, i, j, sc);
      encodePiece(sc.bytes, len, sc, out);
      i = j;
    }
  }

  private void encodePiece(byte[] b, int len, Scratch sc, IntArray out) {
    if (len == 1) {
      out.add(byteToken[b[0] & 0xFF]);
      return;
    }
    int id = whole.get(b, 0, len);
    if (id >= 0) {
      out.add(id);
      return;
    }
    int m = len <= smallPiece ? mergeSmall(b, len, sc, NO_RANK) : mergeLarge(b, len, sc);
    out.ensureCapacity(out.size() + m);
    for (int i = 0; i < m; i++) {
      out.add(sc.tok[i]);
    }
  }

  /**
   * Merges {@code b[0, len)} with pairs of rank below {@code maxRank}, leaving the tokens in {@code
   * sc.tok[0, m)}; returns m. Removing from the middle of small arrays is cheaper than linking.
   */
  private int mergeSmall(byte[] b, int len, Scratch sc, int maxRank) {
    sc.ensure(len);
    int[] tok = sc.tok, rank = sc.rank, merged = sc.merged;
    for (int i = 0; i < len; i++) {
      tok[i] = byteToken[b[i] & 0xFF];
    }
    int m = len;
    for (int i = 0; i < m - 1; i++) {
      setPair(tok, rank, merged, i, maxRank);
    }
    while (m > 1) {
      int best = -1, bestRank = NO_RANK;
      for (int i = 0; i < m - 1; i++) {
        if (rank[i] < bestRank) {
          bestRank = rank[i];
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      tok[best] = merged[best];
      System.arraycopy(tok, best + 2, tok, best + 1, m - best - 2);
      if (m - best - 3 > 0) {
        System.arraycopy(rank, best + 2, rank, best + 1, m - best - 3);
        System.arraycopy(merged, best + 2, merged, best + 1, m - best - 3);
      }
      m--;
      if (best > 0) {
        setPair(tok, rank, merged, best - 1, maxRank);
      }
      if (best < m - 1) {
        setPair(tok, rank, merged, best, maxRank);
      }
    }
    return m;
  }

  private void setPair(int[] tok, int[] rank, int[] merged, int i, int maxRank) {
    long v = pairs.get(pairKey(tok[i], tok[i + 1]));
    int r = v == LongLongMap.MISSING ? NO_RANK : (int) (v >>> 32);
    if (r < maxRank) {
      rank[i] = r;
      merged[i] = (int) v;
    } else {
      rank[i] = NO_RANK;
    }
  }

  /**
   * Same result as {@link #mergeSmall} in O(n log n), for long pieces (runs of spaces, minified
   * code): a linked list of parts and a min-heap of (rank, position) with stale entries skipped
   * when popped.
   */
  private int mergeLarge(byte[] b, int len, Scratch sc) {
    sc.ensure(len);
    int[] tok = sc.tok, rank = sc.rank, merged = sc.merged, next = sc.next, prev = sc.prev;
    long[] heap = sc.heap;
    int heapSize = 0;
    for (int i = 0; i < len; i++) {
      tok[i] = byteToken[b[i] & 0xFF];
      next[i] = i + 1 < len ? i + 1 : -1;
      prev[i] = i - 1;
    }
    for (int i = 0; i < len - 1; i++) {
      setPair(tok, rank, merged, i, NO_RANK);
      if (rank[i] != NO_RANK) {
        heapSize = heapPush(heap, heapSize, (long) rank[i] << 32 | i);
      }
    }
    rank[len - 1] = NO_RANK;
    while (heapSize > 0) {
      long top = heap[0];
      heapSize = heapPop(heap, heapSize);
      int i = (int) top, r = (int) (top >>> 32);
      if (tok[i] < 0 || rank[i] != r) {
        continue; // stale: the part was merged away or its pair changed
      }
      int j = next[i];
      tok[i] = merged[i];
      tok[j] = -1;
      rank[j] = NO_RANK;
      next[i] = next[j];
      if (next[j] >= 0) {
        prev[next[j]] = i;
        setPair(tok, next, rank, merged, i);
        if (rank[i] != NO_RANK) {
          heapSize = heapPush(heap, heapSize, (long) rank[i] << 32 | i);
        }
      } else {
        rank[i] = NO_RANK;
      }
      int p = prev[i];
      if (p >= 0) {
        setPair(tok, next, rank, merged, p);
        if (rank[p] != NO_RANK) {
          heapSize = heapPush(heap, heapSize, (long) rank[p] << 32 | p);
        }
      }
    }
    int m = 0;
    for (int i = 0; i >= 0; i = next[i]) {
      tok[m++] = tok[i]; // compaction only moves left, so it never overwrites an unread part
    }
    return m;
  }

  private void setPair(int[] tok, int[] next, int[] rank, int[] merged, int i) {
    long v = pairs.get(pairKey(tok[i], tok[next[i]]));
    if (v == LongLongMap.MISSING) {
      rank[i] = NO_RANK;
    } else {
      rank[i] = (int) (v >>> 32);
      merged[i] = (int) v;
    }
  }

  private static int heapPush(long[] heap, int size, long v) {
    int i = size;
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (heap[parent] <= v) {
        break;
      }
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = v;
    return size + 1;
  }

  private static int heapPop(long[] heap, int size) {
    long last = heap[--size];
    int i = 0;
    while (true) {
      int c = 2 * i + 1;
      if (c >= size) {
        break;
      }
      if (c + 1 < size && heap[c + 1] < heap[c]) {
        c++;
      }
      if (heap[c] >= last) {
        break;
      }
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
    return size;
  }

  /**
   * UTF-8 of {@code s[from, to)} into {@code sc.bytes}; an unpaired surrogate becomes U+FFFD, as in
   * tiktoken.
   */
  private static int utf8(CharSequence s, int from, int to, Scratch sc) {
    if (sc.bytes.length < 3 * (to - from)) {
      sc.bytes = new byte[Math.max(3 * (to - from), 2 * sc.bytes.length)];
    }
    byte[] b = sc.bytes;
    int n = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        b[n++] = (byte) c;
      } else if (c < 0x800) {
        b[n++] = (byte) (0xC0 | c >> 6);
        b[n++] = (byte) (0x80 | c & 0x3F);
      } else if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c)
            && i + 1 < to
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          int cp = Character.toCodePoint(c, s.charAt(++i));
          b[n++] = (byte) (0xF0 | cp >> 18);
          b[n++] = (byte) (0x80 | cp >> 12 & 0x3F);
          b[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
          b[n++] = (byte) (0x80 | cp & 0x3F);
        } else {
          b[n++] = (byte) 0xEF;
          b[n++] = (byte) 0xBF;
          b[n++] = (byte) 0xBD;
        }
      } else {
        b[n++] = (byte) (0xE0 | c >> 12);
        b[n++] = (byte) (0x80 | c >> 6 & 0x3F);
        b[n++] = (byte) (0x80 | c & 0x3F);
      }
    }
    return n;
  }

  /** UTF-8 of {@code s}, with U+FFFD for unpaired surrogates: the bytes the encoder sees. */
  static byte[] utf8(CharSequence s) {
    Scratch sc = new Scratch();
    int n = utf8(s, 0, s.length(), sc);
    return Arrays.copyOf(sc.bytes, n);
  }

  @Override
  public byte[] decodeBytes(int[] ids) {
    long total = 0;
    for (int id : ids) {
      checkId(id);
      total += length[id];
    }
    if (total > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("decoded text too large: " + total + " bytes");
    }
    byte[] out = new byte[(int) total];
    int at = 0;
    for (int id : ids) {
      System.arraycopy(pool, start[id], out, at, length[id]);
      at += length[id];
    }
    return out;
  }

  private void checkId(int id) {
    if (id < 0 || id >= length.length || length[id] < 0) {
      throw new IllegalArgumentException(
          "invalid token id " + id + " for " + name + " (vocabulary size " + length.length + ")");
    }
  }

  /**
   * The merge list in rank order, as {@code {left id, right id}} pairs. For the tiktoken flavour it
   * is recovered from the ranks: the merge that makes token t is the last step of merging t's own
   * bytes with the ranks below t (as in tiktoken's and minbpe's conversions).
   */
  int[][] mergeList() {
    if (!tiktoken) {
      return deepCopy(merges);
    }
    Scratch sc = new Scratch();
    int[][] list = new int[length.length][];
    int n = 0;
    for (int id = 0; id < length.length; id++) {
      if (length[id] < 2 || isSpecial(id)) {
        continue;
      }
      sc.ensure(length[id]);
      System.arraycopy(pool, start[id], sc.bytes, 0, length[id]);
      int m = mergeSmall(sc.bytes, length[id], sc, id);
      if (m != 2) {
        throw new IllegalStateException(
            "token " + id + " cannot be made by one merge of lower-ranked tokens");
      }
      list[n++] = new int[] {sc.tok[0], sc.tok[1]};
    }
    return Arrays.copyOf(list, n);
  }

  private static int[][] deepCopy(int[][] a) {
    int[][] c = new int[a.length][];
    for (int i = 0; i < a.length; i++) {
      if (a[i] == null || a[i].length != 2) {
        throw new IllegalArgumentException("merge " + i + " is not a pair");
      }
      c[i] = a[i].clone();
    }
    return c;
  }

  @Override
  public String toString() {
    return "ByteLevelBpe[" + name + ", " + pattern + ", vocab " + vocabSize() + "]";
  }

  /** Per-thread work arrays, grown on demand. */
  private static final class Scratch {
    byte[] bytes = new byte[256];
    int[] tok = new int[0], rank, merged, next, prev;
    long[] heap;

    void ensure(int n) {
      if (tok.length < n) {
        int c = Math.max(n, 64);
        tok = new int[c];
        rank = new int[c];
        merged = new int[c];
        next = new int[c];
        prev = new int[c];
        heap = new long[c * 2];
      }
      if (bytes.length < n) {
        bytes = new byte[n];
      }
    }
  }
}
