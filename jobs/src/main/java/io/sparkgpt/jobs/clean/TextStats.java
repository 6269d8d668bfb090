package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;

/**
 * The measures that the prose filters share, computed in one pass over a document. CJK-aware: a Han
 * or kana character is a word by itself, and CJK punctuation separates words like whitespace does.
 */
public final class TextStats {
  public final int words;

  /**
   * Words that are not single CJK characters, and their total length; mean word length uses only
   * these.
   */
  public final int latinWords;

  public final long latinWordChars;
  public final int cjkWords;
  public final int wordsWithLetter;

  /** '#' characters plus "..." and "…" occurrences (Gopher's symbol count). */
  public final int symbols;

  public final int lines;
  public final int bulletLines;
  public final int ellipsisLines;
  public final double dupLineFraction;
  public final double dupLineCharFraction;
  public final double dupParagraphFraction;
  public final double dupParagraphCharFraction;

  /**
   * topNgramFraction[i]: share of word characters covered by the most frequent (i+2)-gram of words
   * (of 2(i+2) characters in CJK text).
   */
  public final double[] topNgramFraction = new double[3];

  /** The statistics of the document's current text, computed once and shared by the filters. */
  public static TextStats of(Doc doc) {
    return doc.derived(TextStats.class, TextStats::new);
  }

  public TextStats(String text) {
    int n = text.length();
    // Pass 1: word spans and word-level counts.
    int[] starts = new int[Math.max(16, n / 4)];
    int[] ends = new int[starts.length];
    int w = 0;
    int latin = 0;
    long latinChars = 0;
    int cjk = 0;
    int withLetter = 0;
    int symbolCount = 0;
    int i = 0;
    while (i < n) {
      int cp = text.codePointAt(i);
      int len = Character.charCount(cp);
      if (isSeparator(cp)) {
        i += len;
        continue;
      }
      if (w == starts.length) {
        starts = java.util.Arrays.copyOf(starts, w * 2);
        ends = java.util.Arrays.copyOf(ends, w * 2);
      }
      if (isCjk(cp)) {
        starts[w] = i;
        ends[w++] = i + len;
        cjk++;
        withLetter++;
        i += len;
        continue;
      }
      int start = i;
      boolean letter = false;
      int chars = 0;
      while (i < n) {
        cp = text.codePointAt(i);
        if (isSeparator(cp) || isCjk(cp)) {
          break;
        }
        letter |= Character.isLetter(cp);
        chars++;
        i += Character.charCount(cp);
      }
      starts[w] = start;
      ends[w++] = i;
      latin++;
      latinChars += chars;
      if (letter) {
        withLetter++;
      }
    }
    for (int j = 0; j < n; j++) {
      char c = text.charAt(j);
      if (c == '#' || c == '\u2026') {
        symbolCount++;
      } else if (c == '.' && j + 2 < n && text.charAt(j + 1) == '.' && text.charAt(j + 2) == '.') {
        symbolCount++;
        j += 2;
      }
    }
    words = w;
    latinWords = latin;
    latinWordChars = latinChars;
    cjkWords = cjk;
    wordsWithLetter = withLetter;
    symbols = symbolCount;

    // Lines and paragraphs (the text is normalised: '\n' line ends, no trailing spaces, blank runs
    // collapsed).
    int lineCount = 0;
    int bullets = 0;
    int ellipses = 0;
    LongCounter lineSeen = new LongCounter(64);
    LongCounter paraSeen = new LongCounter(16);
    int dupLines = 0;
    long dupLineChars = 0;
    int paragraphs = 0;
    int dupParas = 0;
    long dupParaChars = 0;
    int lineStart = 0;
    for (int j = 0; j <= n; j++) {
      if (j < n && text.charAt(j) != '\n') {
        continue;
      }
      if (j > lineStart) {
        lineCount++;
        if (isBullet(text, lineStart, j)) {
          bullets++;
        }
        if ((j - lineStart >= 3 && text.startsWith("...", j - 3))
            || text.charAt(j - 1) == '\u2026') {
          ellipses++;
        }
        // Lines without a letter or digit (table rules, separators) are layout, not repeated
        // content.
        if (hasLetterOrDigit(text, lineStart, j) && lineSeen.add(hash(text, lineStart, j)) > 0) {
          dupLines++;
          dupLineChars += j - lineStart;
        }
      }
      lineStart = j + 1;
    }
    for (int p = 0; p < n; ) {
      int e = text.indexOf("\n\n", p);
      if (e < 0) {
        e = n;
      }
      if (e > p) {
        paragraphs++;
        if (paraSeen.add(hash(text, p, e)) > 0) {
          dupParas++;
          dupParaChars += e - p;
        }
      }
      p = e + 2;
    }
    lines = lineCount;
    bulletLines = bullets;
    ellipsisLines = ellipses;
    dupLineFraction = lineCount == 0 ? 0 : (double) dupLines / lineCount;
    dupLineCharFraction = n == 0 ? 0 : (double) dupLineChars / n;
    dupParagraphFraction = paragraphs == 0 ? 0 : (double) dupParas / paragraphs;
    dupParagraphCharFraction = n == 0 ? 0 : (double) dupParaChars / n;

    // Most frequent word n-grams, n = 2..4, by the characters they cover.
    long wordChars = 0;
    long[] wordHash = new long[w];
    for (int k = 0; k < w; k++) {
      wordHash[k] = hash(text, starts[k], ends[k]);
      wordChars += ends[k] - starts[k];
    }
    LongCounter grams = new LongCounter(Math.max(16, w));
    // A Chinese or Japanese word is about two characters: in CJK text an "n-gram" spans 2n
    // characters.
    int scale = cjk > latin ? 3 : 1;
    for (int order = 2; order <= 4; order++) {
      int g = order * scale;
      if (w < g || wordChars == 0) {
        break;
      }
      grams.clear();
      int bestCount = 0;
      int bestAt = -1;
      for (int k = 0; k + g <= w; k++) {
        long h = wordHash[k];
        for (int m = 1; m < g; m++) {
          h = h * 0x100000001B3L + wordHash[k + m];
        }
        int c = grams.add(h) + 1;
        if (c > bestCount) {
          bestCount = c;
          bestAt = k;
        }
      }
      int gramChars = 0;
      for (int m = 0; m < g; m++) {
        gramChars += ends[bestAt + m] - starts[bestAt + m];
      }
      topNgramFraction[order - 2] =
          bestCount > 1 ? (double) bestCount * gramChars / wordChars : 0.0;
    }
  }

  static boolean isCjk(int cp) {
    Character.UnicodeScript s = Character.UnicodeScript.of(cp);
    return s == Character.UnicodeScript.HAN
        || s == Character.UnicodeScript.HIRAGANA
        || s == Character.UnicodeScript.KATAKANA;
  }

  /**
   * Whitespace, and CJK punctuation ("，。、《》" etc.), which plays the role of spaces between words.
   */
  static boolean isSeparator(int cp) {
    if (Character.isWhitespace(cp) || cp == 0x3000) {
      return true;
    }
    if ((cp >= 0x3001 && cp <= 0x303F) || (cp >= 0xFF01 && cp <= 0xFF65)) {
      return !Character.isLetterOrDigit(cp);
    }
    return false;
  }

  private static boolean hasLetterOrDigit(String text, int start, int end) {
    for (int i = start; i < end; i++) {
      if (Character.isLetterOrDigit(text.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isBullet(String text, int start, int end) {
    int i = start;
    while (i < end && (text.charAt(i) == ' ' || text.charAt(i) == '\t')) {
      i++;
    }
    if (i >= end) {
      return false;
    }
    char c = text.charAt(i);
    return c == '\u2022'
        || c == '\u25CF'
        || c == '\u25CB'
        || c == '\u25A0'
        || c == '\u25A1'
        || c == '\u25AA'
        || c == '\u25AB'
        || c == '\u2023'
        || c == '\u25E6'
        || c == '\u2043'
        || c == '\u2219'
        || ((c == '-' || c == '*') && i + 1 < end && text.charAt(i + 1) == ' ');
  }

  /** 64-bit FNV-1a over the chars of text[start, end), finished by a mixer. */
  static long hash(CharSequence text, int start, int end) {
    long h = 0xcbf29ce484222325L;
    for (int i = start; i < end; i++) {
      h = (h ^ text.charAt(i)) * 0x100000001b3L;
    }
    return LongCounter.mix(h);
  }
}
