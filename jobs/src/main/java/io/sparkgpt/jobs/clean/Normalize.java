package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.text.Normalizer;

/**
 * Step 1 (after decoding): Unicode NFC (or NFKC), line endings to '\n', control characters other
 * than '\n' and '\t' removed, trailing whitespace stripped, runs of blank lines collapsed (to one
 * blank line in prose, two in code, where PEP 8 and friends use two), leading and trailing blank
 * lines removed. Drops documents left empty.
 */
public final class Normalize implements Step {
  private final Normalizer.Form form;

  public Normalize(CleanConfig.Normalize config) {
    this.form =
        switch (config.form().toLowerCase(java.util.Locale.ROOT)) {
          case "nfc" -> Normalizer.Form.NFC;
          case "nfkc" -> Normalizer.Form.NFKC;
          default ->
              throw new IllegalArgumentException(
                  "normalize.form must be nfc or nfkc, not " + config.form());
        };
  }

  @Override
  public String name() {
    return Steps.NORMALIZE;
  }

  @Override
  public Rejection apply(Doc doc) {
    String text = clean(doc.text(), doc.code() ? 2 : 1);
    if (!Normalizer.isNormalized(text, form)) {
      text = Normalizer.normalize(text, form);
    }
    if (text.isBlank()) {
      return new Rejection("empty", "no text left after normalisation");
    }
    if (!text.equals(doc.text())) {
      doc.replaceText(text);
    }
    return null;
  }

  /** One pass over the text; returns the input itself when nothing changes. */
  static String clean(String in, int maxBlankLines) {
    int n = in.length();
    StringBuilder out = new StringBuilder(n);
    int lineStartInOut = 0;
    int blankRun = 0;
    boolean seenContent = false;
    int i = in.startsWith("\uFEFF") ? 1 : 0;
    while (i <= n) {
      char c = i < n ? in.charAt(i) : '\n';
      boolean eol = c == '\n' || c == '\r';
      if (eol) {
        // Strip trailing whitespace of the line just finished.
        int end = out.length();
        while (end > lineStartInOut && isTrailingSpace(out.charAt(end - 1))) {
          end--;
        }
        out.setLength(end);
        if (end == lineStartInOut) { // blank line
          blankRun++;
        } else {
          blankRun = 0;
          seenContent = true;
        }
        if (c == '\r' && i + 1 < n && in.charAt(i + 1) == '\n') {
          i++;
        }
        if (i < n) {
          if (!seenContent || blankRun > maxBlankLines) {
            // leading blank lines and surplus blank lines vanish
          } else {
            out.append('\n');
          }
        }
        lineStartInOut = out.length();
        i++;
        continue;
      }
      if (c == '\t' || !Character.isISOControl(c)) {
        out.append(c);
      }
      i++;
    }
    // Trailing blank lines and the final newline.
    int end = out.length();
    while (end > 0 && out.charAt(end - 1) == '\n') {
      end--;
    }
    out.setLength(end);
    return out.length() == in.length() && out.toString().equals(in) ? in : out.toString();
  }

  private static boolean isTrailingSpace(char c) {
    return c == ' '
        || c == '\t'
        || c == '\u00A0'
        || c == '\u3000'
        || (Character.isWhitespace(c) && c != '\n');
  }
}
