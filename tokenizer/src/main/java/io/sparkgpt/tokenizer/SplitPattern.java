package io.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Pre-tokenisation: how text is cut into pieces before BPE runs inside each piece. Each constant is
 * a hand-written scanner that gives exactly the matches of its regex under {@code java.util.regex}
 * with {@code UNICODE_CHARACTER_CLASS} (what jtokkit uses, and what tiktoken's Rust regex means:
 * {@code \s} is Unicode White_Space, {@code \p{L}} / {@code \p{N}} are the general categories). A
 * scanner is several times faster than the regex engine and allocates nothing.
 *
 * <p>Classes follow {@link Character#getType} of this JDK. An unpaired surrogate is one code point
 * of class "other" (as {@code java.util.regex} sees it); the encoder then encodes it as U+FFFD, as
 * tiktoken does.
 */
public enum SplitPattern {
  /** GPT-2 / {@code r50k_base} / {@code p50k_base}. */
  GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+") {
    @Override
    public int next(CharSequence s, int i, int end) {
      char c = s.charAt(i);
      if (c == '\'' && i + 1 < end) {
        char d = s.charAt(i + 1);
        if (d == 's' || d == 't' || d == 'm' || d == 'd') {
          return i + 2;
        }
        if (i + 2 < end) {
          char e = s.charAt(i + 2);
          if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
            return i + 3;
          }
        }
      }
      // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space, then a run of one class.
      if (c == ' ' && i + 1 < end) {
        int k = classAt(s, i + 1, end);
        if (k != SPACE) {
          return run(s, i + 1, end, k);
        }
      }
      int k = classAt(s, i, end);
      if (k != SPACE) {
        return run(s, i, end, k);
      }
      return whitespace(s, i, run(s, i, end, SPACE), end);
    }
  },

  /**
   * {@code cl100k_base} (GPT-3.5 / GPT-4); contractions are case-insensitive, numbers come in
   * groups of 1-3.
   */
  CL100K(
      "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"
          + "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+") {
    @Override
    public int next(CharSequence s, int i, int end) {
      char c = s.charAt(i);
      if (c == '\'' && i + 1 < end) {
        char d = s.charAt(i + 1);
        // (?i) under UNICODE_CHARACTER_CLASS implies Unicode case folding: U+017F (long s) matches
        // 's'.
        if ("sdmtSDMT\u017F".indexOf(d) >= 0) {
          return i + 2;
        }
        if (i + 2 < end) {
          char d2 = (char) (d | 0x20);
          char e2 = (char) (s.charAt(i + 2) | 0x20);
          if (isAsciiLetter(d)
              && isAsciiLetter(s.charAt(i + 2))
              && ((d2 == 'l' && e2 == 'l')
                  || (d2 == 'v' && e2 == 'e')
                  || (d2 == 'r' && e2 == 'e'))) {
            return i + 3;
          }
        }
      }
      int k = classAt(s, i, end);
      if (k == LETTER) {
        return run(s, i, end, LETTER);
      }
      // '[^\r\n\p{L}\p{N}]?+\p{L}+': one non-newline, non-number code point glued to the word after
      // it.
      if (k != NUMBER && c != '\r' && c != '\n') {
        int j = i + width(s, i, end);
        if (j < end && classAt(s, j, end) == LETTER) {
          return run(s, j, end, LETTER);
        }
      }
      if (k == NUMBER) {
        int j = i;
        for (int n = 0; n < 3 && j < end && classAt(s, j, end) == NUMBER; n++) {
          j += width(s, j, end);
        }
        return j;
      }
      // ' ?[^\s\p{L}\p{N}]++[\r\n]*'
      int j = -1;
      if (k == OTHER) {
        j = run(s, i, end, OTHER);
      } else if (c == ' ' && i + 1 < end && classAt(s, i + 1, end) == OTHER) {
        j = run(s, i + 1, end, OTHER);
      }
      if (j >= 0) {
        while (j < end && isNewline(s.charAt(j))) {
          j++;
        }
        return j;
      }
      // '\s*[\r\n]': whitespace up to and including its last newline.
      int runEnd = run(s, i, end, SPACE);
      for (int m = runEnd - 1; m >= i; m--) {
        if (isNewline(s.charAt(m))) {
          return m + 1;
        }
      }
      return whitespace(s, i, runEnd, end);
    }
  };
  static final int OTHER = 0, LETTER = 1, NUMBER = 2, SPACE = 3;
  private static final byte[] BMP_CLASS = new byte[0x10000];

  static {
    for (int c = 0; c < 0x10000; c++) {
      BMP_CLASS[c] = (byte) classOf(c);
    }
  }

  private final String regex;

  SplitPattern(String regex) {
    this.regex = regex;
  }

  /** The regular expression this scanner implements (tiktoken's spelling). */
  public String regex() {
    return regex;
  }

  /**
   * End (exclusive) of the piece that starts at {@code from}; {@code end} acts as the end of the
   * text. Requires {@code from < end}.
   */
  public abstract int next(CharSequence text, int from, int end);

  /** All pieces of {@code text}, in order; for tools and tests (encoding uses {@link #next}). */
  public List<String> split(CharSequence text) {
    List<String> pieces = new ArrayList<>();
    for (int i = 0, n = text.length(); i < n; ) {
      int j = next(text, i, n);
      pieces.add(text.subSequence(i, j).toString());
      i = j;
    }
    return pieces;
  }

  /** Finds the scanner whose regex is exactly {@code regex}, or null. */
  static SplitPattern forRegex(String regex) {
    for (SplitPattern p : values()) {
      if (p.regex.equals(regex)) {
        return p;
      }
    }
    // HuggingFace / original GPT-2 spelling of the same expression.
    if (regex.equals(
        "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")) {
      return GPT2;
    }
    return null;
  }

  // '\s+(?!\S)' then '\s+' for the whitespace run [i, runEnd): the run, minus its last code point
  // when
  // text follows it (that space then prefixes the next word), except that a run of one stays whole.
  private static int whitespace(CharSequence s, int i, int runEnd, int end) {
    if (runEnd == end || runEnd - i < 2) {
      return runEnd;
    }
    return runEnd - 1; // whitespace is all in the BMP: one char is one code point
  }

  private static boolean isNewline(char c) {
    return c == '\r' || c == '\n';
  }

  private static boolean isAsciiLetter(char c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  }

  /** End of the run of code points of class {@code k} starting at {@code j}. */
  private static int run(CharSequence s, int j, int end, int k) {
    while (j < end) {
      char c = s.charAt(j);
      if (Character.isHighSurrogate(c)
          && j + 1 < end
          && Character.isLowSurrogate(s.charAt(j + 1))) {
        if (classOf(Character.toCodePoint(c, s.charAt(j + 1))) != k) {
          break;
        }
        j += 2;
      } else {
        if (BMP_CLASS[c] != k) {
          break;
        }
        j++;
      }
    }
    return j;
  }

  static int classAt(CharSequence s, int i, int end) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
      return classOf(Character.toCodePoint(c, s.charAt(i + 1)));
    }
    return BMP_CLASS[c];
  }

  private static int width(CharSequence s, int i, int end) {
    return Character.isHighSurrogate(s.charAt(i))
            && i + 1 < end
            && Character.isLowSurrogate(s.charAt(i + 1))
        ? 2
        : 1;
  }

  private static int classOf(int cp) {
    switch (Character.getType(cp)) {
      case Character.UPPERCASE_LETTER:
      case Character.LOWERCASE_LETTER:
      case Character.TITLECASE_LETTER:
      case Character.MODIFIER_LETTER:
      case Character.OTHER_LETTER:
        return LETTER;
      case Character.DECIMAL_DIGIT_NUMBER:
      case Character.LETTER_NUMBER:
      case Character.OTHER_NUMBER:
        return NUMBER;
      case Character.SPACE_SEPARATOR:
      case Character.LINE_SEPARATOR:
      case Character.PARAGRAPH_SEPARATOR:
        return SPACE;
      default:
        // Unicode White_Space outside the Z* categories: \t \n \v \f \r and U+0085.
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? SPACE : OTHER;
    }
  }
}
