package io.sparkgpt.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text while generating, one token at a time. A byte-level token
 * may end in the middle of a UTF-8 character; those bytes are held back until the character is
 * complete, so the text never shows a spurious U+FFFD. Not thread-safe: one per stream.
 */
public final class TokenDecoder {
  private final Tokenizer tokenizer;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private final int[] one = new int[1];

  public TokenDecoder(Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Adds one token; returns the text that is now complete (possibly empty). */
  public String push(int id) {
    one[0] = id;
    pending.writeBytes(tokenizer.decodeBytes(one));
    byte[] b = pending.toByteArray();
    int complete = completePrefix(b);
    pending.reset();
    pending.write(b, complete, b.length - complete);
    return new String(b, 0, complete, StandardCharsets.UTF_8);
  }

  /**
   * The held-back bytes (an incomplete character) as text, with U+FFFD for what cannot be decoded.
   */
  public String flush() {
    String s = pending.toString(StandardCharsets.UTF_8);
    pending.reset();
    return s;
  }

  /**
   * Length of the longest prefix of {@code b} that does not end inside a UTF-8 sequence that could
   * still be completed by more bytes. Invalid bytes count as complete (they decode to U+FFFD either
   * way).
   */
  static int completePrefix(byte[] b) {
    int n = b.length;
    // A UTF-8 sequence is at most 4 bytes: only the last 3 bytes can start an unfinished one.
    for (int i = n - 1; i >= Math.max(0, n - 3); i--) {
      int x = b[i] & 0xFF;
      if (x < 0x80) {
        return n;
      }
      if (x >= 0xC2) {
        int need = x >= 0xF0 ? 4 : x >= 0xE0 ? 3 : 2;
        return n - i < need && x < 0xF5 ? i : n;
      }
      if (x >= 0xC0) {
        return n; // 0xC0, 0xC1: never valid
      }
    }
    return n;
  }
}
