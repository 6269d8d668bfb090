package io.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Hand-picked hard inputs for pre-tokenisation and BPE, plus seeded random mixes of tricky
 * characters.
 */
final class Adversarial {
  private Adversarial() {}

  static List<String> strings() {
    List<String> s =
        new ArrayList<>(
            List.of(
                "",
                " ",
                "  ",
                "\n",
                "\n\n\n",
                "\r\n",
                " \r\n \r\n",
                "\t\t x",
                " \n x",
                "a  b",
                "a   \n  b",
                " ".repeat(1000),
                " ".repeat(1000) + "x",
                "\n".repeat(777),
                "\t \n".repeat(300) + "end",
                "x" + " ".repeat(5000) + "y",
                "a".repeat(3000),
                "ab".repeat(2000),
                "😀".repeat(500),
                "I'm you're we've they'll he'd it's don't I'M YOU'RE WE'VE THEY'LL HE'D IT'S 'tis ''s '''",
                "'s'S'ſ'Ll'lL've'VE'Re",
                "can'tdo n't'",
                "\u017F \u212A",
                "naïve café résumé",
                "e\u0301e\u0301e\u0301 a\u0300\u0316 \u0915\u094D\u0937",
                "Ωmega Ⅻ ½ ¾ ① ٣٤٥ 𝟘𝟙𝟚",
                "12345678901234567890 3.14159 1,000,000 0x1F 1e-9 ²³",
                "😀😃😄 👩‍👩‍👧‍👦 🇩🇪🇫🇷 ❤️ ✊🏽",
                "中文文本，包含标点。还有English混合123和emoji😀",
                "　全角空格　和\u3000多个\u3000\u3000空格",
                "non\u00A0breaking\u2003em\u2009thin\u202Fnarrow\u205F\u1680ogham\u2028line\u2029para\u0085nel",
                "\u000B\u000C\u001C\u001D\u001E\u001F",
                "\u0000\u0001\u007F\u0080\u009F",
                "lone \uD800 high",
                "lone \uDC00 low",
                "\uDBFF\uDFFF",
                "\uD83D",
                "x\uDE00y",
                "\uDC00\uD800",
                "<|endoftext|>",
                "a<|endoftext|>b <|endoftext|> <|fim_prefix|><|endofprompt|>",
                "def f(x):\n    return x  # comment\n\n\n\tif  x:\n\t\tpass\r\n",
                "    indented\n        more\n            deep\n",
                "(hello) [world] {x} <y> \"q\" «fr» „de“ ‘s’",
                "!!!???...,,,;;;:::",
                " !!!",
                " (x",
                "  ((x",
                "https://example.com/a?b=c&d=e#f",
                "user@example.com",
                "C:\\path\\to\\file.txt",
                "\uFEFFbom",
                "\uFFFD\uFFFE\uFFFF",
                "Ⅰ Ⅱ Ⅲ ⅷ",
                "ǅungla ǈ",
                "ʰʲʷ ˢ ᵃ",
                "\u0378\u0379 unassigned",
                "\uE000 private use \uF8FF",
                "\uDB80\uDC00 plane 15"));
    Random random = new Random(42);
    String alphabet = "aZ0 9'sdmtlvre\n\r\t\u00A0\u3000.,!?()-_é\u0301中文😀\uD800\uDC00½Ⅻ\u2028ſ_";
    int[] cps = alphabet.codePoints().toArray();
    for (int i = 0; i < 400; i++) {
      StringBuilder b = new StringBuilder();
      int n = random.nextInt(60);
      for (int k = 0; k < n; k++) {
        if (random.nextInt(40) == 0) {
          b.append((char) (0xD800 + random.nextInt(0x800))); // a lone surrogate
        } else {
          b.appendCodePoint(cps[random.nextInt(cps.length)]);
        }
      }
      s.add(b.toString());
    }
    return s;
  }

  /** Replaces unpaired surrogates by U+FFFD, as tiktoken does before encoding. */
  static String replaceLoneSurrogates(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        b.append(c).append(s.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        b.append('\uFFFD');
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  static boolean hasLoneSurrogate(String s) {
    return !replaceLoneSurrogates(s).equals(s);
  }
}
