package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The hand-written validator against the JDK's strict decoder: same verdict, same offset, same
 * text.
 */
class Utf8Test {
  /** The offset a strict CharsetDecoder reports, or -1 when the bytes are valid. */
  private static long strictError(byte[] b) {
    CharsetDecoder d =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(b);
    CoderResult r = d.decode(in, CharBuffer.allocate(b.length), true);
    return r.isError() ? in.position() : -1;
  }

  private static long error(byte[] b) {
    try {
      String s = Utf8.decode(b, 0, b.length);
      assertEquals(new String(b, StandardCharsets.UTF_8), s);
      return -1;
    } catch (Utf8.InvalidUtf8 e) {
      return e.offset;
    }
  }

  private static byte[] bytes(int... b) {
    byte[] a = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      a[i] = (byte) b[i];
    }
    return a;
  }

  @Test
  void agreesWithTheJdkOnEveryEdgeOfTheEncoding() {
    int[][] cases = {
      {},
      {0x41},
      {0xC2, 0x80},
      {0xC1, 0xBF},
      {0xC0, 0x80},
      {0xDF, 0xBF},
      {0xE0, 0xA0, 0x80},
      {0xE0, 0x9F, 0xBF},
      {0xED, 0x9F, 0xBF},
      {0xED, 0xA0, 0x80},
      {0xEF, 0xBF, 0xBF},
      {0xF0, 0x90, 0x80, 0x80},
      {0xF0, 0x8F, 0xBF, 0xBF},
      {0xF4, 0x8F, 0xBF, 0xBF},
      {0xF4, 0x90, 0x80, 0x80},
      {0xF5, 0x80, 0x80, 0x80},
      {0xFF},
      {0x80},
      {0xBF},
      {0xE2, 0x82},
      {0xF0, 0x9F, 0x98},
      {0x41, 0x42, 0xC3},
      {0xE2, 0x28, 0xA1},
      {0xF0, 0x9F, 0x28, 0x80},
      {0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0xC3, 0x28},
    };
    for (int[] c : cases) {
      byte[] b = bytes(c);
      assertEquals(strictError(b), error(b), java.util.Arrays.toString(c));
    }
  }

  @Test
  void agreesWithTheJdkOnRandomText() {
    Random rnd = new Random(13);
    String sample =
        "plain ASCII text, \u00e9t\u00e9, \u4e2d\u6587, \ud83d\ude00 and more ASCII to fill 8-byte words";
    byte[] good = sample.getBytes(StandardCharsets.UTF_8);
    int invalid = 0;
    for (int round = 0; round < 20_000; round++) {
      byte[] b = java.util.Arrays.copyOf(good, 1 + rnd.nextInt(good.length));
      for (int k = rnd.nextInt(3);
          k > 0;
          k--) { // 0 to 2 random bytes anywhere: valid and invalid cases
        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
      }
      long expected = strictError(b);
      invalid += expected >= 0 ? 1 : 0;
      assertEquals(expected, error(b), () -> java.util.HexFormat.of().formatHex(b));
    }
    // both outcomes were exercised many times (about half the rounds change a byte into an invalid
    // one)
    assertEquals(true, invalid > 2_000 && invalid < 18_000, "invalid cases: " + invalid);
  }

  @Test
  void offsetIsRelativeToTheSlice() {
    byte[] b = bytes(0xFF, 0x41, 0x42, 0xC3, 0x28);
    Utf8.InvalidUtf8 e = assertThrows(Utf8.InvalidUtf8.class, () -> Utf8.decode(b, 1, 4));
    assertEquals(2, e.offset);
  }

  /**
   * The one-pass length and surrogate check against the JDK's encoder, on text full of surrogates,
   * in a slice.
   */
  @Test
  void lengthOrUnpairedAgreesWithTheJdk() {
    Random rnd = new Random(17);
    char[] alphabet = {
      'a', ' ', '\n', '\u00e9', '\u07ff', '\u0800', '\u4e2d', '\uffff', '\ud83d', '\ude00'
    };
    for (int trial = 0; trial < 20_000; trial++) {
      char[] c = new char[rnd.nextInt(12)];
      for (int i = 0; i < c.length; i++) {
        c[i] = alphabet[rnd.nextInt(alphabet.length)];
      }
      String s = new String(c);
      int bad = -1;
      for (int i = 0; i < c.length && bad < 0; i++) {
        if (Character.isHighSurrogate(c[i])
            && i + 1 < c.length
            && Character.isLowSurrogate(c[i + 1])) {
          i++;
        } else if (Character.isSurrogate(c[i])) {
          bad = i;
        }
      }
      long expected = bad >= 0 ? -1L - bad : s.getBytes(StandardCharsets.UTF_8).length;
      assertEquals(expected, Utf8.lengthOrUnpaired(s), s::toString);
      char[] framed =
          ("xy" + s + "\ud800").toCharArray(); // a lone surrogate just past the slice is not in it
      assertEquals(expected, Utf8.lengthOrUnpaired(framed, 2, c.length), s::toString);
      int unpaired = 0; // the JDK writes '?' (1 byte) for each; length counts U+FFFD's 3
      for (int i = 0; i < c.length; i++) {
        if (Character.isHighSurrogate(c[i])
            && i + 1 < c.length
            && Character.isLowSurrogate(c[i + 1])) {
          i++;
        } else if (Character.isSurrogate(c[i])) {
          unpaired++;
        }
      }
      assertEquals(
          s.getBytes(StandardCharsets.UTF_8).length + 2L * unpaired, Utf8.length(s), s::toString);
    }
  }
}
