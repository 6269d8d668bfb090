package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.spark.api.java.JavaRDD;

/**
 * The clean pipeline as one ordered list, read top to bottom as documents pass through it
 * (datatrove's {@code pipeline=[...]}). Each entry names its step, says whether {@code --skip} may
 * turn it off and which drop reasons it reports; the report's rows, {@code --skip}'s check and
 * {@code --print-config} come from this list.
 */
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

  /**
   * Where a step runs: reading the input, on one document at a time, or over the whole corpus (a
   * shuffle).
   */
  public enum Kind {
    DECODE,
    DOCUMENT,
    CORPUS
  }

  /** A corpus-wide step: marks documents dropped, given all of them. */
  @FunctionalInterface
  public interface CorpusStep {
    JavaRDD<Doc> apply(JavaRDD<Doc> docs, CorpusContext ctx);
  }

  /** What a corpus step may use, and where it leaves figures for the report. */
  public record CorpusContext(
      CleanConfig config, int partitions, Consumer<String> phase, Map<String, Object> report) {}

  /**
   * @param document builds the document step from the config (null for decontamination, whose probe
   *     needs the eval sets, and for steps of another kind)
   * @param corpus the corpus-wide step, for {@link Kind#CORPUS}
   */
  public record Entry(
      String name,
      Kind kind,
      boolean skippable,
      List<String> reasons,
      Function<CleanConfig, Step> document,
      CorpusStep corpus) {
    Map<String, Object> describe(boolean on) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", name);
      m.put("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
      m.put("skippable", skippable);
      m.put("on", on);
      m.put("drop_reasons", reasons);
      return m;
    }
  }

  public static final List<Entry> PIPELINE =
      List.of(
          new Entry(
              DECODE,
              Kind.DECODE,
              false,
              List.of(
                  "invalid_utf8",
                  "malformed_json",
                  "not_a_json_object",
                  "missing_text_field",
                  "text_not_a_string",
                  "unpaired_surrogate",
                  "too_large",
                  "corrupt_compressed_input"),
              null,
              null),
          document(NORMALIZE, false, List.of("empty"), c -> new Normalize(c.normalize())),
          document(
              QUALITY,
              true,
              List.of(
                  "too_short",
                  "too_long",
                  "mean_word_length",
                  "symbol_ratio",
                  "bullet_lines",
                  "ellipsis_lines",
                  "alpha_words"),
              c -> new GopherQuality(c.quality())),
          document(
              REPETITION,
              true,
              List.of(
                  "dup_lines",
                  "dup_paragraphs",
                  "dup_line_chars",
                  "dup_paragraph_chars",
                  "top_2gram",
                  "top_3gram",
                  "top_4gram"),
              c -> new GopherRepetition(c.repetition())),
          document(
              CODE_QUALITY,
              true,
              List.of("long_lines", "long_mean_line", "low_alnum", "generated_file"),
              c -> new CodeQuality(c.code())),
          document(LANGUAGE, true, List.of("language_not_kept"), c -> new LanguageId(c.language())),
          document(PII, true, List.of(), c -> new PiiRedaction(c.pii())),
          document(DECONTAMINATE, true, List.of("benchmark_overlap"), null),
          new Entry(
              EXACT_DEDUP,
              Kind.CORPUS,
              true,
              List.of("exact_duplicate"),
              null,
              (docs, ctx) -> ExactDedup.apply(docs, ctx.partitions())),
          new Entry(
              FUZZY_DEDUP, Kind.CORPUS, true, List.of("near_duplicate"), null, FuzzyDedup::apply));

  public static final List<String> NAMES = PIPELINE.stream().map(Entry::name).toList();

  /** Steps that may be switched off with --skip. */
  public static final List<String> SKIPPABLE =
      PIPELINE.stream().filter(Entry::skippable).map(Entry::name).toList();

  private static Entry document(
      String name, boolean skippable, List<String> reasons, Function<CleanConfig, Step> build) {
    return new Entry(name, Kind.DOCUMENT, skippable, reasons, build, null);
  }

  public static int index(String name) {
    int i = NAMES.indexOf(name);
    if (i < 0) {
      throw new IllegalArgumentException(
          "unknown step '" + name + "' (steps: " + String.join(", ", NAMES) + ")");
    }
    return i;
  }

  /**
   * The pipeline as {@code --print-config} shows it: every step in order, whether it runs, its drop
   * reasons.
   */
  public static List<Map<String, Object>> describe(java.util.Set<String> skipped) {
    return PIPELINE.stream().map(e -> e.describe(!skipped.contains(e.name()))).toList();
  }

  private Steps() {}
}
