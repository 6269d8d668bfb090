package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.util.List;
import java.util.Locale;

/**
 * Rules for source code in place of the prose rules (after The Stack / StarCoder data filtering):
 * minified or data-like files (very long lines, few alphanumerics) and generated files are dropped.
 */
public final class CodeQuality implements Step {
  private final CleanConfig.Code c;
  private final List<String> markers;

  public CodeQuality(CleanConfig.Code c) {
    this.c = c;
    this.markers = c.generatedMarkers().stream().map(m -> m.toLowerCase(Locale.ROOT)).toList();
  }

  @Override
  public String name() {
    return Steps.CODE_QUALITY;
  }

  @Override
  public boolean appliesTo(Doc doc) {
    return doc.code();
  }

  @Override
  public Rejection apply(Doc doc) {
    String text = doc.text();
    int lines = 0;
    int longest = 0;
    int alnum = 0;
    int start = 0;
    for (int i = 0; i <= text.length(); i++) {
      if (i == text.length() || text.charAt(i) == '\n') {
        lines++;
        longest = Math.max(longest, i - start);
        start = i + 1;
      } else if (Character.isLetterOrDigit(text.charAt(i))) {
        alnum++;
      }
    }
    if (longest > c.maxLineLength()) {
      return new Rejection(
          "long_lines", "longest line " + longest + " chars > " + c.maxLineLength());
    }
    double meanLine = (double) (text.length() - (lines - 1)) / lines;
    if (meanLine > c.maxMeanLineLength()) {
      return new Rejection(
          "long_mean_line", GopherQuality.fmt(meanLine, ">", c.maxMeanLineLength()));
    }
    double alnumFraction = (double) alnum / text.length();
    if (alnumFraction < c.minAlnumFraction()) {
      return new Rejection(
          "low_alnum", GopherQuality.fmt(alnumFraction, "<", c.minAlnumFraction()));
    }
    String head =
        text.substring(0, Math.min(text.length(), c.generatedMarkerWindow()))
            .toLowerCase(Locale.ROOT);
    for (String marker : markers) {
      if (head.contains(marker)) {
        return new Rejection("generated_file", "header contains \"" + marker + "\"");
      }
    }
    return null;
  }
}
