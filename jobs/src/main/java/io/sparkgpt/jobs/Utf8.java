package io.sparkgpt.jobs;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8: bytes that are not valid UTF-8 are reported with their offset, never replaced. */
public final class Utf8 {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private Utf8() {}

  /** Thrown with the byte offset of the first invalid sequence. */
  public static final class InvalidUtf8 extends Exception {
    public final long offset;

    InvalidUtf8(long offset) {
      super("invalid UTF-8 at byte " + offset, null, false, false);
      this.offset = offset;
    }
  }

  /** Decodes bytes[off, off+len). */
  public static String decode(byte[] bytes, int off, int len) throws InvalidUtf8 {
    validate(bytes, off, len);
    return new String(
        bytes,
        off,
        len,
        StandardCharsets.UTF_8); // valid: the JDK's intrinsic decoder replaces nothing
  }

  /**
   * Throws at the first byte that starts an invalid sequence, the position a strict {@code
   * CharsetDecoder} reports: a stray continuation byte, C0/C1 or F5-FF, an overlong form, a
   * surrogate (ED A0-BF), a code point above U+10FFFF, or a sequence cut short. Checks 8 ASCII
   * bytes at a time: validating is then cheaper than decoding, and the text can be decoded once,
   * where it is needed.
   */
  public static void validate(byte[] b, int off, int len) throws InvalidUtf8 {
    int end = off + len;
    int i = off;
    while (i < end) {
      if (i + 8 <= end && ((long) LONGS.get(b, i) & 0x8080808080808080L) == 0) {
        i += 8;
        continue;
      }
      int c = b[i] & 0xFF;
      if (c < 0x80) {
        i++;
        continue;
      }
      int n;
      int lo = 0x80;
      int hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
      } else {
        throw new InvalidUtf8(i - off);
      }
      if (i + n >= end) {
        throw new InvalidUtf8(i - off);
      }
      int second = b[i + 1] & 0xFF;
      if (second < lo || second > hi) {
        throw new InvalidUtf8(i - off);
      }
      for (int k = 2; k <= n; k++) {
        if ((b[i + k] & 0xC0) != 0x80) {
          throw new InvalidUtf8(i - off);
        }
      }
      i += n + 1;
    }
  }

  /**
   * UTF-8 length of a string, counting an unpaired surrogate as the 3 bytes its replacement would
   * take.
   */
  public static long length(String s) {
    int len = s.length();
    long n = len;
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        if (Character.isSurrogate(c)) {
          return lengthWithSurrogates(s, len);
        }
        n += c >= 0x800 ? 2 : 1;
      }
    }
    return n;
  }

  private static long lengthWithSurrogates(String s, int len) {
    long n = len;
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        if (Character.isHighSurrogate(c)
            && i + 1 < len
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          n += 2; // the pair's 4 bytes
          i++;
        } else {
          n += c >= 0x800 ? 2 : 1;
        }
      }
    }
    return n;
  }

  /**
   * The UTF-8 length of {@code s}, or {@code -1 - i} when char {@code i} is an unpaired surrogate
   * (text that cannot be written as UTF-8): the reader's check and the length the statistics need,
   * in one pass.
   */
  public static long lengthOrUnpaired(String s) {
    return lengthOrUnpaired(
        s.toCharArray(), 0, s.length()); // a copy, for one loop over chars (JSONL's hot path)
  }

  /**
   * {@link #lengthOrUnpaired(String)} of chars[off, off+len), the index relative to off. The loop
   * over text without surrogates has one branch per char, taken only by non-ASCII ones: on the
   * benchmark corpus it took 0.17-0.19 s per 229M chars where one loop with the pair check took
   * 0.32-0.78 s (its compiled code varied from run to run).
   */
  public static long lengthOrUnpaired(char[] chars, int off, int len) {
    long n = len;
    int end = off + len;
    for (int i = off; i < end; i++) {
      char c = chars[i];
      if (c >= 0x80) {
        if (Character.isSurrogate(c)) {
          return lengthOrUnpairedWithSurrogates(chars, off, len);
        }
        n += c >= 0x800 ? 2 : 1;
      }
    }
    return n;
  }

  private static long lengthOrUnpairedWithSurrogates(char[] chars, int off, int len) {
    long n = len;
    int end = off + len;
    for (int i = off; i < end; i++) {
      char c = chars[i];
      if (c < 0x80) {
        continue;
      }
      if (!Character.isSurrogate(c)) {
        n += c >= 0x800 ? 2 : 1;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < end
          && Character.isLowSurrogate(chars[i + 1])) {
        n += 2; // the pair's 4 bytes
        i++;
      } else {
        return -1L - (i - off);
      }
    }
    return n;
  }
}
