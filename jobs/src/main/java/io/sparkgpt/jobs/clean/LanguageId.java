package io.sparkgpt.jobs.clean;

import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import io.sparkgpt.jobs.input.Doc;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Language identification with Lingua (all of its 75 languages, low-accuracy mode: trigram models,
 * fast and accurate from about 100 characters on). The language is stored on every prose document;
 * with a keep-list, other languages are dropped. Code documents carry their programming language
 * instead and are never dropped here.
 */
public final class LanguageId implements Step {
  private final Set<String> keep;
  private final int sampleChars;
  private final double minConfidence;

  public LanguageId(CleanConfig.Language config) {
    this.keep =
        new TreeSet<>(config.keep().stream().map(s -> s.trim().toLowerCase(Locale.ROOT)).toList());
    this.sampleChars = config.sampleChars();
    this.minConfidence = config.minConfidence();
  }

  @Override
  public String name() {
    return Steps.LANGUAGE;
  }

  @Override
  public boolean appliesTo(Doc doc) {
    return !doc.code();
  }

  @Override
  public Rejection apply(Doc doc) {
    String sample = sample(doc.text(), sampleChars);
    SortedMap<Language, Double> values = Detector.INSTANCE.computeLanguageConfidenceValues(sample);
    doc.identifiedLanguage("und", 0);
    if (!values.isEmpty()) {
      Map.Entry<Language, Double> top = values.entrySet().iterator().next();
      if (top.getKey() != Language.UNKNOWN && top.getValue() >= minConfidence) {
        doc.identifiedLanguage(
            top.getKey().getIsoCode639_1().toString().toLowerCase(Locale.ROOT), top.getValue());
      }
    }
    if (!keep.isEmpty() && !keep.contains(doc.language())) {
      return new Rejection(
          "language_not_kept",
          String.format(
              Locale.ROOT,
              "%s (%.2f) not in %s",
              doc.language(),
              doc.languageConfidence(),
              String.join(",", keep)));
    }
    return null;
  }

  /** The first {@code chars} characters, not cutting a surrogate pair. */
  static String sample(String text, int chars) {
    if (text.length() <= chars) {
      return text;
    }
    int end = Character.isHighSurrogate(text.charAt(chars - 1)) ? chars - 1 : chars;
    return text.substring(0, end);
  }

  /**
   * Validates a --languages list against Lingua's ISO 639-1 codes, so a typo is an error, not an
   * empty output.
   */
  public static void checkCodes(List<String> codes) {
    Set<String> known = new TreeSet<>();
    for (Language l : Language.values()) {
      if (l != Language.UNKNOWN) {
        known.add(l.getIsoCode639_1().toString().toLowerCase(Locale.ROOT));
      }
    }
    for (String c : codes) {
      if (!known.contains(c.trim().toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "unknown language code '" + c + "' (ISO 639-1, e.g. en, zh, de)");
      }
    }
  }

  /**
   * One detector per JVM: its models are large and immutable, and it is safe to share between
   * threads.
   */
  private static final class Detector {
    static final LanguageDetector INSTANCE =
        LanguageDetectorBuilder.fromAllLanguages()
            .withLowAccuracyMode()
            .withPreloadedLanguageModels()
            .build();
  }
}
