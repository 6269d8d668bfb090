package io.sparkgpt.jobs.input;

import io.sparkgpt.jobs.UserError;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** How a job reads documents: shared by every command that takes raw or cleaned text. */
public final class InputOptions {
  @Option(
      names = {"-i", "--input"},
      required = true,
      split = ",",
      paramLabel = "PATH",
      description =
          "Input files, directories or globs (repeatable or comma-separated). .jsonl/.json/.ndjson: JSONL; "
              + ".parquet: Parquet (e.g. the output of clean); anything else: text. .gz, .zst and .bz2 are decompressed.")
  public List<String> inputs;

  @Option(
      names = "--input-format",
      defaultValue = "auto",
      paramLabel = "FMT",
      description = "auto (by extension), text, jsonl or parquet (default: ${DEFAULT-VALUE}).")
  String inputFormat;

  @Option(
      names = "--doc-split",
      defaultValue = "file",
      paramLabel = "MODE",
      description =
          "How text files become documents: file (one per file), blank-line (blocks separated by "
              + "blank lines) or line (default: ${DEFAULT-VALUE}).")
  String docSplit;

  @Option(
      names = "--text-field",
      defaultValue = "text",
      paramLabel = "NAME",
      description =
          "JSONL/Parquet field holding the text; other fields become metadata (default: ${DEFAULT-VALUE}).")
  String textField;

  @Option(
      names = "--content",
      defaultValue = "auto",
      paramLabel = "KIND",
      description =
          "auto (code by file extension or a path/source field), prose or code (default: ${DEFAULT-VALUE}).")
  String content;

  @Option(
      names = "--max-doc-bytes",
      defaultValue = "67108864",
      paramLabel = "BYTES",
      description = "Larger documents are quarantined unread (default: ${DEFAULT-VALUE}, 64 MiB).")
  long maxDocBytes;

  public DocReader.Options readOptions() {
    return new DocReader.Options(
        choice("--doc-split", docSplit, DocReader.DocSplit.class),
        textField,
        choice("--content", content, DocReader.Content.class),
        maxDocBytes);
  }

  /** null for auto-detection by extension. */
  public Inputs.Format format() {
    return inputFormat.equalsIgnoreCase("auto")
        ? null
        : choice("--input-format", inputFormat, Inputs.Format.class);
  }

  /**
   * Case-insensitive enum choice where "blank-line" names BLANK_LINE; anything else is a one-line
   * error.
   */
  public static <E extends Enum<E>> E choice(String flag, String value, Class<E> type) {
    String name = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    List<String> allowed = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      allowed.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
    throw new UserError(flag + ": '" + value + "' is not one of " + String.join(", ", allowed));
  }
}
