package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The hand-written scanners against java.util.regex running the same expressions (as jtokkit does).
 */
class SplitPatternTest {

  static List<String> regexSplit(Pattern p, String s) {
    List<String> out = new ArrayList<>();
    Matcher m = p.matcher(s);
    int end = 0;
    while (m.find()) {
      assertEquals(end, m.start(), "regex left a gap");
      out.add(m.group());
      end = m.end();
    }
    assertEquals(s.length(), end, "regex did not reach the end");
    return out;
  }

  static Pattern regex(SplitPattern p) {
    return Pattern.compile(p.regex(), Pattern.UNICODE_CHARACTER_CLASS);
  }

  @ParameterizedTest
  @EnumSource(SplitPattern.class)
  void sameAsRegexOnCorpus(SplitPattern p) {
    Pattern re = regex(p);
    long pieces = 0;
    for (var e : Corpus.documents().entrySet()) {
      for (String doc : e.getValue()) {
        List<String> expected = regexSplit(re, doc);
        List<String> actual = p.split(doc);
        if (!expected.equals(actual)) {
          assertEquals(expected, actual, p + " differs from the regex on " + e.getKey());
        }
        pieces += actual.size();
      }
    }
    assertTrue(pieces > 500_000, "corpus too small: " + pieces);
  }

  @ParameterizedTest
  @EnumSource(SplitPattern.class)
  void sameAsRegexOnAdversarialStrings(SplitPattern p) {
    Pattern re = regex(p);
    for (String s : Adversarial.strings()) {
      assertEquals(regexSplit(re, s), p.split(s), () -> p + " on " + escape(s));
    }
  }

  /**
   * Every code point after an apostrophe and between letters: contractions, case folding, classes.
   */
  @ParameterizedTest
  @EnumSource(SplitPattern.class)
  void sameAsRegexForEveryCodePoint(SplitPattern p) {
    Pattern re = regex(p);
    StringBuilder b = new StringBuilder();
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        continue;
      }
      b.setLength(0);
      b.append("a'")
          .appendCodePoint(cp)
          .append("e1 ")
          .appendCodePoint(cp)
          .append("x")
          .appendCodePoint(cp)
          .append("  ");
      if (cp < 0x10000
          || cp % 7 == 0) { // all of the BMP, a sample of the rest (classes are checked below)
        String s = b.toString();
        List<String> expected = regexSplit(re, s);
        List<String> actual = p.split(s);
        if (!expected.equals(actual)) {
          assertEquals(expected, actual, p + " at U+" + Integer.toHexString(cp));
        }
      }
    }
  }

  @Test
  void characterClassesMatchRegexForAllCodePoints() {
    Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
    Pattern letter = Pattern.compile("\\p{L}", Pattern.UNICODE_CHARACTER_CLASS);
    Pattern number = Pattern.compile("\\p{N}", Pattern.UNICODE_CHARACTER_CLASS);
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      String s = new String(Character.toChars(cp));
      int expected =
          space.matcher(s).matches()
              ? SplitPattern.SPACE
              : letter.matcher(s).matches()
                  ? SplitPattern.LETTER
                  : number.matcher(s).matches() ? SplitPattern.NUMBER : SplitPattern.OTHER;
      int actual = SplitPattern.classAt(s, 0, s.length());
      if (expected != actual) {
        assertEquals(expected, actual, "class of U+" + Integer.toHexString(cp));
      }
    }
  }

  @Test
  void knownSplits() {
    assertEquals(
        List.of("Hello", ",", " world", "'s", " 123", "  ", " x", "\n\n"),
        SplitPattern.GPT2.split("Hello, world's 123   x\n\n"));
    assertEquals(
        List.of("Hello", ",", " world", "'s", " ", "123", "4", "  ", " x", "\n\n", "(hello", ")"),
        SplitPattern.CL100K.split("Hello, world's 1234   x\n\n(hello)"));
    assertEquals(
        List.of("    ", " return", " x", "\n"), SplitPattern.GPT2.split("     return x\n"));
    assertEquals(
        List.of("   ", " return", " x", "\n"), SplitPattern.CL100K.split("    return x\n"));
  }

  static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\u%04X", (int) c));
    }
    return b.toString();
  }
}
