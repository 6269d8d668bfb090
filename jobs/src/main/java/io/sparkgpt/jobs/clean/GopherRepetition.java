package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;

/**
 * Repetition rules after Gopher: documents made of repeated lines or paragraphs, or dominated by
 * one short phrase, are boilerplate or spam. Applied to prose only.
 */
public final class GopherRepetition implements Step {
  private final CleanConfig.Repetition r;

  public GopherRepetition(CleanConfig.Repetition r) {
    this.r = r;
  }

  @Override
  public String name() {
    return Steps.REPETITION;
  }

  @Override
  public boolean appliesTo(Doc doc) {
    return !doc.code();
  }

  @Override
  public Rejection apply(Doc doc) {
    TextStats s = TextStats.of(doc);
    if (s.dupParagraphFraction > r.maxDupParagraphFraction()) {
      return new Rejection(
          "dup_paragraphs",
          GopherQuality.fmt(s.dupParagraphFraction, ">", r.maxDupParagraphFraction()));
    }
    if (s.dupParagraphCharFraction > r.maxDupParagraphCharFraction()) {
      return new Rejection(
          "dup_paragraph_chars",
          GopherQuality.fmt(s.dupParagraphCharFraction, ">", r.maxDupParagraphCharFraction()));
    }
    if (s.dupLineFraction > r.maxDupLineFraction()) {
      return new Rejection(
          "dup_lines", GopherQuality.fmt(s.dupLineFraction, ">", r.maxDupLineFraction()));
    }
    if (s.dupLineCharFraction > r.maxDupLineCharFraction()) {
      return new Rejection(
          "dup_line_chars",
          GopherQuality.fmt(s.dupLineCharFraction, ">", r.maxDupLineCharFraction()));
    }
    for (int i = 0; i < r.topNgramMaxFraction().size() && i < s.topNgramFraction.length; i++) {
      double limit = r.topNgramMaxFraction().get(i);
      if (s.topNgramFraction[i] > limit) {
        return new Rejection(
            "top_" + (i + 2) + "gram", GopherQuality.fmt(s.topNgramFraction[i], ">", limit));
      }
    }
    return null;
  }
}
