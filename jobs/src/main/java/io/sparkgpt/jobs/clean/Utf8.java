package io.sparkgpt.jobs.clean;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8: bytes that are not valid UTF-8 are reported with their offset, never replaced. */
public final class Utf8 {
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT)
      .onUnmappableCharacter(CodingErrorAction.REPORT);

  /** Thrown with the byte offset of the first invalid sequence. */
  public static final class InvalidUtf8 extends Exception {
    public final long offset;

    InvalidUtf8(long offset) {
      super("invalid UTF-8 at byte " + offset, null, false, false);
      this.offset = offset;
    }
  }

  /** Decodes bytes[off, off+len); one decoder per thread (not thread-safe). */
  public String decode(byte[] bytes, int off, int len) throws InvalidUtf8 {
    // Fast path: pure ASCII needs no decoder.
    boolean ascii = true;
    for (int i = off; i < off + len; i++) {
      if (bytes[i] < 0) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return new String(bytes, off, len, StandardCharsets.ISO_8859_1);
    }
    ByteBuffer in = ByteBuffer.wrap(bytes, off, len);
    CharBuffer out = CharBuffer.allocate(len);
    decoder.reset();
    CoderResult r = decoder.decode(in, out, true);
    if (r.isError()) {
      throw new InvalidUtf8(in.position() - off);
    }
    r = decoder.flush(out);
    if (r.isError()) {
      throw new InvalidUtf8(in.position() - off);
    }
    out.flip();
    return out.toString();
  }

  /** UTF-8 length of a string, counting an unpaired surrogate as the 3 bytes its replacement would take. */
  public static long length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** Index of the first unpaired surrogate (text that cannot be written as UTF-8), or -1. */
  public static int unpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return i;
        }
      } else if (Character.isLowSurrogate(c)) {
        return i;
      }
    }
    return -1;
  }

}
