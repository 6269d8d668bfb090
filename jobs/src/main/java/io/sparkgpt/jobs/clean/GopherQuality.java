package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.util.Locale;

/**
 * Prose quality rules after Gopher (Rae et al. 2021): length, mean word length, symbol-to-word
 * ratio, bullet and ellipsis lines, share of words with a letter. CJK characters count as words,
 * and the mean word length rule only looks at the non-CJK words, so Chinese is measured fairly.
 */
public final class GopherQuality implements Step {
  private final CleanConfig.Quality q;

  public GopherQuality(CleanConfig.Quality q) {
    this.q = q;
  }

  @Override
  public String name() {
    return Steps.QUALITY;
  }

  @Override
  public boolean appliesTo(Doc doc) {
    return !doc.code();
  }

  @Override
  public Rejection apply(Doc doc) {
    TextStats s = TextStats.of(doc);
    if (s.words < q.minWords()) {
      return new Rejection("too_short", s.words + " words < " + q.minWords());
    }
    if (s.words > q.maxWords()) {
      return new Rejection("too_long", s.words + " words > " + q.maxWords());
    }
    if (s.latinWords * 2 >= s.words) {
      double mean = (double) s.latinWordChars / s.latinWords;
      if (mean < q.minMeanWordLength() || mean > q.maxMeanWordLength()) {
        return new Rejection(
            "mean_word_length",
            String.format(
                Locale.ROOT,
                "%.2f chars outside [%.1f, %.1f]",
                mean,
                q.minMeanWordLength(),
                q.maxMeanWordLength()));
      }
    }
    double symbolRatio = (double) s.symbols / s.words;
    if (symbolRatio > q.maxSymbolWordRatio()) {
      return new Rejection("symbol_ratio", fmt(symbolRatio, ">", q.maxSymbolWordRatio()));
    }
    double bullets = (double) s.bulletLines / s.lines;
    if (bullets > q.maxBulletLines()) {
      return new Rejection("bullet_lines", fmt(bullets, ">", q.maxBulletLines()));
    }
    double ellipses = (double) s.ellipsisLines / s.lines;
    if (ellipses > q.maxEllipsisLines()) {
      return new Rejection("ellipsis_lines", fmt(ellipses, ">", q.maxEllipsisLines()));
    }
    double alpha = (double) s.wordsWithLetter / s.words;
    if (alpha < q.minAlphaWords()) {
      return new Rejection("alpha_words", fmt(alpha, "<", q.minAlphaWords()));
    }
    return null;
  }

  static String fmt(double value, String op, double limit) {
    return String.format(Locale.ROOT, "%.3f %s %.3f", value, op, limit);
  }
}
