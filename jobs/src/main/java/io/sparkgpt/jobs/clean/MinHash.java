package io.sparkgpt.jobs.clean;

import java.io.Serializable;
import java.util.Arrays;

/**
 * MinHash signatures of a document's character-shingle set, by one-permutation hashing with optimal
 * densification (Li et al. 2012; Shrivastava 2017): every shingle is hashed once and falls in one
 * of k bins, each bin keeps its minimum, and empty bins borrow from a pseudo-randomly chosen full
 * bin. The probability that two signatures agree at a position equals the Jaccard similarity of the
 * shingle sets, as with k independent permutations, at 1/k of the hashing cost.
 *
 * <p>Shingles are character n-grams of the text lower-cased, with everything but letters and digits
 * turned into single spaces. Character shingles keep a document with a few edited words above a 0.8
 * threshold (a word edit disturbs about word-length + n - 1 shingles) and work for scripts without
 * spaces. The shingle length goes from {@code shingle} for text without CJK characters down to
 * {@code cjkShingle} for pure CJK text.
 */
public final class MinHash implements Serializable {
  private static final int EMPTY = -1; // bins hold 31-bit values, so -1 never occurs as a minimum
  private final int k;
  private final int shingle;
  private final int cjkShingle;

  public MinHash(int k, int shingle, int cjkShingle) {
    this.k = k;
    this.shingle = shingle;
    this.cjkShingle = cjkShingle;
  }

  /** The signature, or null for a text with no letters or digits. */
  public int[] signature(String text) {
    int[] cps = normalize(text);
    int n = cps.length;
    if (n == 0) {
      return null;
    }
    int cjk = 0;
    int letters = 0;
    for (int cp : cps) {
      if (cp != ' ') {
        letters++;
        if (TextStats.isCjk(cp)) {
          cjk++;
        }
      }
    }
    // CJK text has no spaces and far more distinct characters: shorter shingles, in proportion to
    // its share.
    double cjkShare = letters == 0 ? 0 : (double) cjk / letters;
    int w = Math.min(n, (int) Math.round(shingle - (shingle - cjkShingle) * cjkShare));
    int[] bins = new int[k];
    Arrays.fill(bins, EMPTY);
    // Polynomial rolling hash of the w code points in the window, mod 2^64.
    final long base = 0x100000001B3L;
    long pow = 1;
    for (int i = 1; i < w; i++) {
      pow *= base;
    }
    long h = 0;
    for (int i = 0; i < n; i++) {
      if (i >= w) {
        h -= cps[i - w] * pow;
      }
      h = h * base + cps[i];
      if (i >= w - 1) {
        long x = LongCounter.mix(h);
        int bin = (int) (((x >>> 32) * k) >>> 32);
        int value = (int) (x & 0x7FFFFFFFL);
        if (bins[bin] == EMPTY || value < bins[bin]) {
          bins[bin] = value;
        }
      }
    }
    densify(bins);
    return bins;
  }

  private void densify(int[] bins) {
    int[] source = bins.clone();
    for (int i = 0; i < k; i++) {
      if (source[i] != EMPTY) {
        continue;
      }
      for (long attempt = 1; ; attempt++) {
        long x = LongCounter.mix(((long) i << 32) ^ attempt);
        int j = (int) (((x >>> 32) * k) >>> 32);
        if (source[j] != EMPTY) {
          bins[i] = source[j];
          break;
        }
      }
    }
  }

  /** Fraction of agreeing positions: an unbiased estimate of the Jaccard similarity. */
  public static double similarity(int[] a, int[] b) {
    int same = 0;
    for (int i = 0; i < a.length; i++) {
      if (a[i] == b[i]) {
        same++;
      }
    }
    return (double) same / a.length;
  }

  /** The LSH key of one band: the band number and its rows' values, hashed together. */
  public static long bandKey(int[] sig, int band, int rows) {
    long h = LongCounter.mix(band + 1L);
    for (int r = 0; r < rows; r++) {
      h = LongCounter.mix(h * 31 + sig[band * rows + r]);
    }
    return h;
  }

  /** Lower-cased letters and digits, with each run of anything else as one space. */
  static int[] normalize(String text) {
    int[] out = new int[text.length()];
    int n = 0;
    boolean space = true;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (Character.isLetterOrDigit(cp)) {
        out[n++] = Character.toLowerCase(cp);
        space = false;
      } else if (!space) {
        out[n++] = ' ';
        space = true;
      }
    }
    if (n > 0 && out[n - 1] == ' ') {
      n--;
    }
    return Arrays.copyOf(out, n);
  }
}
