package io.sparkgpt.jobs.clean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Real documents from the test corpus, and near-duplicates planted in them. */
final class TestData {
  static final ObjectMapper JSON =
      new ObjectMapper(
          com.fasterxml.jackson.core.JsonFactory.builder()
              .streamReadConstraints(
                  com.fasterxml.jackson.core.StreamReadConstraints.builder()
                      .maxStringLength(Integer.MAX_VALUE)
                      .build())
              .build());

  static Path corpus() {
    return io.sparkgpt.tokenizer.Corpus.dir();
  }

  /** Python standard library files between min and max characters. */
  static List<String> pythonFiles(int min, int max, int limit) {
    List<String> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(corpus().resolve("code/python3.11-stdlib.jsonl"))) {
        JsonNode n = JSON.readTree(line);
        String text = n.get("text").asText();
        if (text.length() >= min && text.length() <= max && out.size() < limit) {
          out.add(text);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Blank-line separated paragraphs of a text file with at least minChars characters. */
  static List<String> paragraphs(String file, int minChars, int limit) {
    List<String> out = new ArrayList<>();
    try {
      for (String p : Files.readString(corpus().resolve(file)).split("\r?\n[ \t]*\r?\n")) {
        String t = p.strip();
        if (t.length() >= minChars && out.size() < limit && !out.contains(t)) {
          out.add(t);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * A copy with about {@code rate} of its words edited: a third replaced by another word of the
   * text, a third deleted, a third followed by an inserted word.
   */
  static String editWords(String text, double rate, Random rnd) {
    String[] words = text.split(" ");
    StringBuilder b = new StringBuilder(text.length() + 64);
    for (String w : words) {
      double u = rnd.nextDouble();
      String other = words[rnd.nextInt(words.length)];
      if (u < rate / 3) {
        b.append(other);
      } else if (u < 2 * rate / 3) {
        continue;
      } else if (u < rate) {
        b.append(w).append(' ').append(other);
      } else {
        b.append(w);
      }
      b.append(' ');
    }
    return b.toString().strip();
  }

  /**
   * Lines of a text file with at least minChars characters (WikiText has one paragraph per line).
   */
  static List<String> lines(String file, int minChars, int limit) {
    List<String> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(corpus().resolve(file))) {
        String t = line.strip();
        if (t.length() >= minChars && out.size() < limit && !out.contains(t)) {
          out.add(t);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Share of CJK characters among letters and digits. */
  static double cjkShare(String text) {
    long cjk = text.codePoints().filter(TextStats::isCjk).count();
    long letters = text.codePoints().filter(Character::isLetterOrDigit).count();
    return letters == 0 ? 0 : (double) cjk / letters;
  }

  /**
   * A copy with about {@code rate} of its CJK characters replaced by other CJK characters of the
   * text (a Chinese word is one or two characters, so 3% of characters is about 5% of words).
   */
  static String editCjkChars(String text, double rate, Random rnd) {
    char[] c = text.toCharArray();
    StringBuilder pool = new StringBuilder();
    for (char ch : c) {
      if (TextStats.isCjk(ch)) {
        pool.append(ch);
      }
    }
    for (int i = 0; i < c.length; i++) {
      if (TextStats.isCjk(c[i]) && rnd.nextDouble() < rate) {
        c[i] = pool.charAt(rnd.nextInt(pool.length()));
      }
    }
    return new String(c);
  }

  private TestData() {}
}
