package io.sparkgpt.jobs.align;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.Utf8Lines;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Reads an alignment JSONL file ({@code sft}, {@code train-reward}, {@code ppo} inputs) line by
 * line. Each line is turned into an example by a {@link LineParser}, or rejected with a reason:
 * invalid JSON, not an object, a missing, non-string or empty field, too long after tokenisation,
 * ... Rejected lines are never dropped silently: {@link #writeReport} writes {@code report.json}
 * (counts per reason, with line numbers) and {@code rejected.jsonl} (one line per rejected input
 * line: number, reason, the start of the text), and {@link #summary} is printed.
 *
 * @param <E> the example type
 */
public final class JsonlExamples<E> {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final ObjectMapper LINE = new ObjectMapper();
  public static final String REPORT = "report.json";
  public static final String REJECTED = "rejected.jsonl";

  /** Why a line is not used. */
  public static final class Rejected extends Exception {
    public Rejected(String reason) {
      super(reason, null, false, false);
    }
  }

  /**
   * Turns one JSON object into an example, or throws {@link Rejected}; {@code note} counts an
   * accepted example that had to be changed (e.g. "prompt truncated"), reported beside the
   * rejections.
   */
  public interface LineParser<E> {
    E parse(JsonNode object, Consumer<String> note) throws Rejected;
  }

  /** An accepted example and its 1-based line number. */
  public record Numbered<E>(int line, E example) {}

  private record Rejection(int line, String reason, String text) {}

  private final Path file;
  private final List<Numbered<E>> accepted = new ArrayList<>();
  private final List<Rejection> rejected = new ArrayList<>();
  private final Map<String, Integer> notes = new LinkedHashMap<>();
  private int lines;

  private JsonlExamples(Path file) {
    this.file = file;
  }

  /**
   * Reads every line of {@code file}, named by option {@code flag}; an unreadable file is a {@link
   * UserError}.
   */
  public static <E> JsonlExamples<E> read(String flag, Path file, LineParser<E> parser) {
    if (!Files.isRegularFile(file)) {
      throw new UserError(flag + " not found: " + file);
    }
    JsonlExamples<E> out = new JsonlExamples<>(file);
    // Decoded per line: one line of invalid UTF-8 is a rejected line, not the end of the job.
    try (InputStream in = Files.newInputStream(file)) {
      Utf8Lines lines = new Utf8Lines(in);
      while (lines.next()) {
        out.lines = lines.number();
        if (lines.text() != null) {
          out.add(out.lines, lines.text(), parser);
        } else {
          String text = lines.lenient();
          out.rejected.add(
              new Rejection(
                  out.lines, "invalid UTF-8", text.length() > 200 ? text.substring(0, 200) : text));
        }
      }
    } catch (IOException e) {
      throw new UserError("cannot read " + file + ": " + e.getMessage());
    }
    return out;
  }

  private void add(int number, String line, LineParser<E> parser) {
    try {
      if (line.isBlank()) {
        throw new Rejected("empty line");
      }
      JsonNode node;
      try {
        node = LINE.readTree(line);
      } catch (IOException e) {
        throw new Rejected("invalid JSON");
      }
      if (node == null || !node.isObject()) {
        throw new Rejected("not a JSON object");
      }
      accepted.add(
          new Numbered<>(number, parser.parse(node, what -> notes.merge(what, 1, Integer::sum))));
    } catch (Rejected e) {
      rejected.add(
          new Rejection(
              number, e.getMessage(), line.length() > 200 ? line.substring(0, 200) : line));
    }
  }

  /** The non-empty string field {@code name}, or a rejection naming it. */
  public static String text(JsonNode o, String name) throws Rejected {
    JsonNode v = o.get(name);
    if (v == null || v.isNull()) {
      throw new Rejected("missing field '" + name + "'");
    }
    if (!v.isTextual()) {
      throw new Rejected("field '" + name + "' is not a string");
    }
    if (v.asText().isBlank()) {
      throw new Rejected("empty field '" + name + "'");
    }
    return v.asText();
  }

  public List<Numbered<E>> accepted() {
    return accepted;
  }

  public int rejectedCount() {
    return rejected.size();
  }

  /**
   * A seeded split of the accepted examples: {@code ceil(fraction * n)} validation examples (at
   * least 1 when the fraction is positive and there are 2 or more examples), the rest for training,
   * each in file order.
   */
  public List<List<E>> split(double fraction, long seed) {
    int n = accepted.size();
    int nVal =
        fraction <= 0 || n < 2 ? 0 : Math.min(n - 1, Math.max(1, (int) Math.ceil(fraction * n)));
    List<Integer> idx = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      idx.add(i);
    }
    java.util.Collections.shuffle(idx, new Random(seed));
    boolean[] isVal = new boolean[n];
    for (int i = 0; i < nVal; i++) {
      isVal[idx.get(i)] = true;
    }
    List<E> train = new ArrayList<>();
    List<E> val = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      (isVal[i] ? val : train).add(accepted.get(i).example());
    }
    return List.of(train, val);
  }

  /** Rejections grouped by reason, with their line numbers. */
  private Map<String, List<Integer>> byReason() {
    Map<String, List<Integer>> out = new LinkedHashMap<>();
    for (Rejection r : rejected) {
      out.computeIfAbsent(r.reason(), k -> new ArrayList<>()).add(r.line());
    }
    return out;
  }

  /** Writes {@code dir/report.json} and {@code dir/rejected.jsonl}. */
  public void writeReport(Path dir, int train, int val) throws IOException {
    Files.createDirectories(dir);
    ObjectNode rep = JSON.createObjectNode();
    rep.put("file", file.toAbsolutePath().toString());
    rep.put("lines", lines);
    rep.put("accepted", accepted.size());
    rep.put("train", train);
    rep.put("val", val);
    rep.put("rejected", rejected.size());
    ObjectNode reasons = rep.putObject("rejected_by_reason");
    byReason()
        .forEach(
            (reason, ls) -> {
              ObjectNode o = reasons.putObject(reason);
              o.put("count", ls.size());
              ls.forEach(o.putArray("lines")::add);
            });
    ObjectNode changed = rep.putObject("accepted_with_changes");
    notes.forEach(changed::put);
    Files.write(dir.resolve(REPORT), JSON.writeValueAsBytes(rep));
    try (BufferedWriter w =
        Files.newBufferedWriter(dir.resolve(REJECTED), StandardCharsets.UTF_8)) {
      for (Rejection r : rejected) {
        ObjectNode o = LINE.createObjectNode();
        o.put("line", r.line()).put("reason", r.reason()).put("text", r.text());
        w.write(LINE.writeValueAsString(o));
        w.newLine();
      }
    }
  }

  /** One paragraph for the log: counts, and per reason the count and the first line numbers. */
  public void summary(String what, int train, int val, Path reportDir, Consumer<String> log) {
    StringBuilder b =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "%s: %s: %,d lines, %,d accepted (train %,d, val %,d), %,d rejected",
                what,
                file,
                lines,
                accepted.size(),
                train,
                val,
                rejected.size()));
    byReason()
        .forEach(
            (reason, ls) -> {
              b.append(
                  String.format(
                      Locale.ROOT,
                      "; %s: %d (line%s %s%s)",
                      reason,
                      ls.size(),
                      ls.size() > 1 ? "s" : "",
                      String.join(", ", ls.stream().limit(10).map(String::valueOf).toList()),
                      ls.size() > 10 ? ", ..." : ""));
            });
    notes.forEach((note, c) -> b.append(String.format(Locale.ROOT, "; %s: %d", note, c)));
    if (!rejected.isEmpty() || !notes.isEmpty()) {
      b.append("; details in ")
          .append(reportDir.resolve(REPORT))
          .append(" and ")
          .append(reportDir.resolve(REJECTED));
    }
    log.accept(b.toString());
  }
}
