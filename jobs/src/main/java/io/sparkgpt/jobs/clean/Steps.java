package io.sparkgpt.jobs.clean;

import java.util.List;

/** The pipeline's steps in the order documents pass through them; the report is keyed by these names. */
public final class Steps {
  public static final String DECODE = "decode";
  public static final String NORMALIZE = "normalize";
  public static final String QUALITY = "quality";
  public static final String REPETITION = "repetition";
  public static final String CODE_QUALITY = "code_quality";
  public static final String LANGUAGE = "language";
  public static final String PII = "pii";
  public static final String DECONTAMINATE = "decontaminate";
  public static final String EXACT_DEDUP = "exact_dedup";
  public static final String FUZZY_DEDUP = "fuzzy_dedup";

  public static final List<String> NAMES = List.of(
      DECODE, NORMALIZE, QUALITY, REPETITION, CODE_QUALITY, LANGUAGE, PII, DECONTAMINATE, EXACT_DEDUP, FUZZY_DEDUP);

  /** Steps that may be switched off with --skip (decoding and normalisation always run). */
  public static final List<String> SKIPPABLE = NAMES.subList(2, NAMES.size());

  public static int index(String name) {
    int i = NAMES.indexOf(name);
    if (i < 0) {
      throw new IllegalArgumentException("unknown step '" + name + "' (steps: " + String.join(", ", NAMES) + ")");
    }
    return i;
  }

  private Steps() {}
}
