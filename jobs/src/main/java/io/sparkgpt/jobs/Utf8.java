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
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
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

  /** {@link #lengthOrUnpaired(String)} of chars[off, off+len), the index relative to off. */
  public static long lengthOrUnpaired(char[] chars, int off, int len) {
    long n = 0;
    int end = off + len;
    for (int i = off; i < end; i++) {
      char c = chars[i];
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (!Character.isSurrogate(c)) {
        n += 3;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < end
          && Character.isLowSurrogate(chars[i + 1])) {
        n += 4;
        i++;
      } else {
        return -1L - (i - off);
      }
    }
    return n;
  }
}
