package io.sparkgpt.jobs.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * A clean output (id, text, source, language, content, metadata) or a clean run's rejected folder
 * (the same plus status, step, rule, reason), read row by row.
 */
final class CleanOutputInspector implements InspectCommand.Inspected {
  private static final int TOP_SOURCES = 20;

  private final Path path;
  private final DocFiles files;
  private final Tokenizer tokenizer;
  private final boolean rejected;

  CleanOutputInspector(Path path, DocFiles files, Tokenizer tokenizer) throws Exception {
    this.path = path;
    this.files = files;
    this.tokenizer = tokenizer;
    // The first row tells a rejected folder (status, step, rule) from kept documents.
    ObjectNode first = files.firstRow();
    this.rejected = first != null && first.has("status") && first.has("step") && first.has("rule");
  }

  boolean isRejected() {
    return rejected;
  }

  @Override
  public String kind() {
    return rejected ? "a rejected folder" : "a clean output";
  }

  private static String text(JsonNode row, String field) {
    JsonNode v = row.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static void add(Map<String, long[]> m, String key, long bytes, long tokens) {
    long[] a = m.computeIfAbsent(key == null ? "und" : key, k -> new long[3]);
    a[0]++;
    a[1] += bytes;
    a[2] += tokens;
  }

  private Map<String, Object> table(Map<String, long[]> m, int top) {
    Map<String, Object> out = new LinkedHashMap<>();
    List<Map.Entry<String, long[]>> sorted = new ArrayList<>(m.entrySet());
    sorted.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
    long[] rest = new long[3];
    int others = 0;
    for (int i = 0; i < sorted.size(); i++) {
      long[] a = sorted.get(i).getValue();
      if (i < top) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("documents", a[0]);
        x.put("bytes", a[1]);
        if (tokenizer != null) {
          x.put("tokens", a[2]);
        }
        out.put(sorted.get(i).getKey(), x);
      } else {
        others++;
        for (int k = 0; k < 3; k++) {
          rest[k] += a[k];
        }
      }
    }
    if (others > 0) {
      out.put("(" + others + " more)", Map.of("documents", rest[0], "bytes", rest[1]));
    }
    return out;
  }

  @Override
  public Map<String, Object> summary() throws Exception {
    long[] total = new long[3];
    Map<String, long[]> byContent = new TreeMap<>();
    Map<String, long[]> byLanguage = new TreeMap<>();
    Map<String, long[]> bySource = new TreeMap<>();
    Map<String, long[]> byReason = new TreeMap<>();
    Map<String, long[]> byBenchmark = new TreeMap<>();
    files.forEach(
        (f, n, row) -> {
          String t = text(row, "text");
          long bytes = t == null ? 0 : t.getBytes(StandardCharsets.UTF_8).length;
          long tokens = tokenizer == null || t == null ? 0 : tokenizer.encode(t).length;
          total[0]++;
          total[1] += bytes;
          total[2] += tokens;
          add(bySource, text(row, "source"), bytes, tokens);
          if (rejected) {
            add(byReason, text(row, "step") + "/" + text(row, "rule"), bytes, tokens);
            if (text(row, "benchmark") != null) {
              add(byBenchmark, text(row, "benchmark"), bytes, tokens);
            }
          } else {
            add(byContent, text(row, "content"), bytes, tokens);
            add(byLanguage, text(row, "language"), bytes, tokens);
          }
        });
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("kind", rejected ? "rejected" : "clean_output");
    s.put("path", path.toString());
    s.put("format", files.kind.name().toLowerCase(java.util.Locale.ROOT));
    s.put("files", files.files.size());
    s.put("documents", total[0]);
    s.put(rejected ? "text_bytes (documents with text)" : "text_bytes", total[1]);
    if (tokenizer != null) {
      s.put("tokens", total[2]);
    }
    if (rejected) {
      s.put("by_reason", table(byReason, Integer.MAX_VALUE));
      if (!byBenchmark.isEmpty()) {
        s.put("by_benchmark", table(byBenchmark, Integer.MAX_VALUE));
      }
    } else {
      s.put("by_content", table(byContent, Integer.MAX_VALUE));
      s.put("by_language", table(byLanguage, Integer.MAX_VALUE));
    }
    s.put("by_source", table(bySource, TOP_SOURCES));
    return s;
  }

  @Override
  public String verify(List<String> problems) throws Exception {
    Set<String> ids = new HashSet<>();
    long[] rows = new long[1];
    for (Path f : files.files) {
      try {
        files.forEach(
            f,
            (file, n, row) -> {
              rows[0]++;
              String id = text(row, "id");
              if (id == null || !rejected && text(row, "text") == null) {
                problems.add(
                    file.getFileName() + " row " + n + ": no " + (id == null ? "id" : "text"));
              } else if (!ids.add(id)) {
                problems.add(file.getFileName() + " row " + n + ": id " + id + " occurs twice");
              }
            });
      } catch (java.io.IOException e) {
        problems.add(e.getMessage());
      }
    }
    if (Files.isDirectory(path) && !Files.exists(path.resolve("_SUCCESS"))) {
      problems.add(path + ": no _SUCCESS marker (the job that wrote it did not finish)");
    }
    return files.files.size() + " files, " + rows[0] + " documents";
  }

  @Override
  public Histogram.Lengths lengths() throws Exception {
    List<Long> out = new ArrayList<>();
    files.forEach(
        (f, n, row) -> {
          String t = text(row, "text");
          if (t != null) {
            out.add(
                (long)
                    (tokenizer != null
                        ? tokenizer.encode(t).length
                        : t.getBytes(StandardCharsets.UTF_8).length));
          }
        });
    return new Histogram.Lengths(
        out.stream().mapToLong(Long::longValue).toArray(), tokenizer != null ? "tokens" : "bytes");
  }

  /** N documents drawn uniformly at random (reservoir sampling, so one pass), in reading order. */
  void printDocs(int n, long seed, int maxChars, PrintStream out) throws Exception {
    Random rnd = new Random(seed);
    List<long[]> picked = new ArrayList<>(); // (seen index) for ordering
    List<ObjectNode> rows = new ArrayList<>();
    long[] seen = new long[1];
    files.forEach(
        (f, k, row) -> {
          long i = seen[0]++;
          if (rows.size() < n) {
            rows.add(row);
            picked.add(new long[] {i});
          } else {
            long j = (long) (rnd.nextDouble() * (i + 1));
            if (j < n) {
              rows.set((int) j, row);
              picked.set((int) j, new long[] {i});
            }
          }
        });
    Integer[] order = new Integer[rows.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Long.compare(picked.get(a)[0], picked.get(b)[0]));
    out.printf(
        java.util.Locale.ROOT, "%d of %,d documents (seed %d)%n", rows.size(), seen[0], seed);
    for (int i : order) {
      printRow(rows.get(i), "document " + picked.get(i)[0], maxChars, out);
    }
  }

  /** The rejected documents whose rule, step or step/rule is REASON. */
  void printRejected(String reason, int maxChars, PrintStream out) throws Exception {
    long[] counts = new long[2];
    Map<String, Long> reasons = new TreeMap<>();
    files.forEach(
        (f, k, row) -> {
          counts[0]++;
          String step = text(row, "step");
          String rule = text(row, "rule");
          reasons.merge(step + "/" + rule, 1L, Long::sum);
          if (reason.equals(rule) || reason.equals(step) || reason.equals(step + "/" + rule)) {
            counts[1]++;
            printRow(row, "rejected " + counts[1], maxChars, out);
          }
        });
    if (counts[1] == 0) {
      throw new UserError(
          "--rejected "
              + reason
              + ": no document was dropped for it (reasons here: "
              + String.join(", ", reasons.keySet())
              + ")");
    }
    out.printf(
        java.util.Locale.ROOT, "%,d of %,d rejected documents: %s%n", counts[1], counts[0], reason);
  }

  private static void printRow(ObjectNode row, String title, int maxChars, PrintStream out) {
    out.println("=== " + title + " ===");
    row.fields()
        .forEachRemaining(
            e -> {
              if (!e.getKey().equals("text")) {
                out.println(
                    e.getKey()
                        + ": "
                        + (e.getValue().isTextual() ? e.getValue().asText() : e.getValue()));
              }
            });
    String t = text(row, "text");
    if (t != null) {
      out.println("bytes: " + t.getBytes(StandardCharsets.UTF_8).length);
      out.println("text:");
      out.println(
          t.length() <= maxChars
              ? t
              : t.substring(0, maxChars)
                  + " [... "
                  + (t.length() - maxChars)
                  + " more characters]");
    }
  }
}
