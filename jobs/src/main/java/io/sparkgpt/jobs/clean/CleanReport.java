package io.sparkgpt.jobs.clean;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparkgpt.jobs.input.Doc;
import io.sparkgpt.jobs.report.HtmlReport;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What happened to every input document, per step: documents and bytes in and out, and why each
 * dropped document was dropped. Computed from the final documents themselves (not from
 * accumulators), so retried tasks cannot double-count, and input_docs = kept_docs + rejected_docs +
 * quarantined_docs always holds.
 */
public final class CleanReport {
  /** Per-partition tallies, merged on the driver. */
  static final int LENGTH_BUCKETS = 40;

  public static final class Counts implements Serializable {
    final int steps = Steps.NAMES.size();
    final long[] docsIn = new long[steps];
    final long[] docsOut = new long[steps];
    final long[] bytesIn = new long[steps];
    final long[] bytesOut = new long[steps];
    final TreeMap<String, Long> reasons = new TreeMap<>();
    final TreeMap<String, Long> languages = new TreeMap<>();
    final long[] pii = new long[PiiRedaction.Kind.values().length];

    /**
     * Documents by length: lengthsIn[k] counts input documents of 2^k to 2^(k+1)-1 bytes (k = 0
     * also 0 bytes).
     */
    final long[] lengthsIn = new long[LENGTH_BUCKETS];

    final long[] lengthsKept = new long[LENGTH_BUCKETS];

    /** Per benchmark: documents dropped, documents cut, overlapping n-grams. */
    final TreeMap<String, long[]> benchmarks = new TreeMap<>();

    long kept;
    long rejected;
    long quarantined;

    static int bucket(long bytes) {
      return Math.min(LENGTH_BUCKETS - 1, Math.max(0, 63 - Long.numberOfLeadingZeros(bytes)));
    }

    public Counts add(Doc d) {
      lengthsIn[bucket(d.bytesAt(0))]++;
      if (d.kept()) {
        lengthsKept[bucket(d.bytesAt(steps))]++;
      }
      int reached = d.kept() ? steps : d.droppedAt();
      for (int k = 0; k < steps && k <= reached; k++) {
        docsIn[k]++;
        bytesIn[k] += d.bytesAt(k);
        if (k < reached) {
          docsOut[k]++;
          bytesOut[k] += d.bytesAt(k + 1);
        }
      }
      switch (d.status()) {
        case KEPT -> {
          kept++;
          languages.merge(d.language() == null ? "und" : d.language(), 1L, Long::sum);
        }
        case REJECTED -> rejected++;
        case QUARANTINED -> quarantined++;
      }
      if (!d.kept()) {
        reasons.merge(Steps.NAMES.get(d.droppedAt()) + "/" + d.rule(), 1L, Long::sum);
      }
      if (d.overlap() != null) {
        d.overlap()
            .ngramsPerBenchmark()
            .forEach(
                (b, n) -> {
                  long[] a = benchmarks.computeIfAbsent(b, k -> new long[3]);
                  a[d.overlap().cut() ? 1 : 0]++;
                  a[2] += n;
                });
      }
      if (d.kept() && d.piiCounts() != null) {
        for (int i = 0; i < pii.length; i++) {
          pii[i] += d.piiCounts()[i];
        }
      }
      return this;
    }

    public Counts merge(Counts o) {
      for (int k = 0; k < steps; k++) {
        docsIn[k] += o.docsIn[k];
        docsOut[k] += o.docsOut[k];
        bytesIn[k] += o.bytesIn[k];
        bytesOut[k] += o.bytesOut[k];
      }
      o.reasons.forEach((r, n) -> reasons.merge(r, n, Long::sum));
      o.languages.forEach((l, n) -> languages.merge(l, n, Long::sum));
      o.benchmarks.forEach(
          (b, a) -> {
            long[] mine = benchmarks.computeIfAbsent(b, k -> new long[3]);
            for (int i = 0; i < a.length; i++) {
              mine[i] += a[i];
            }
          });
      for (int i = 0; i < pii.length; i++) {
        pii[i] += o.pii[i];
      }
      for (int i = 0; i < LENGTH_BUCKETS; i++) {
        lengthsIn[i] += o.lengthsIn[i];
        lengthsKept[i] += o.lengthsKept[i];
      }
      kept += o.kept;
      rejected += o.rejected;
      quarantined += o.quarantined;
      return this;
    }

    public long inputDocs() {
      return docsIn[0];
    }
  }

  private final Counts c;
  private final Map<String, Object> extra;
  private final double seconds;
  private final List<String> skipped;

  public CleanReport(Counts c, Map<String, Object> extra, double seconds, List<String> skipped) {
    this.c = c;
    this.extra = extra;
    this.seconds = seconds;
    this.skipped = skipped;
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("input_docs", c.inputDocs());
    m.put("kept_docs", c.kept);
    m.put("rejected_docs", c.rejected);
    m.put("quarantined_docs", c.quarantined);
    m.put("input_bytes", c.bytesIn[0]);
    m.put("kept_bytes", c.bytesOut[c.steps - 1]);
    m.put("elapsed_seconds", Math.round(seconds * 100) / 100.0);
    m.put(
        "mb_per_second",
        seconds > 0 ? Math.round(c.bytesIn[0] / 1e6 / seconds * 1000) / 1000.0 : 0);
    var steps = new java.util.ArrayList<Map<String, Object>>();
    for (int k = 0; k < c.steps; k++) {
      Map<String, Object> s = new LinkedHashMap<>();
      String name = Steps.NAMES.get(k);
      s.put("step", name);
      s.put("enabled", !skipped.contains(name));
      s.put("docs_in", c.docsIn[k]);
      s.put("docs_out", c.docsOut[k]);
      s.put("bytes_in", c.bytesIn[k]);
      s.put("bytes_out", c.bytesOut[k]);
      Map<String, Long> why = new TreeMap<>();
      c.reasons.forEach(
          (r, n) -> {
            if (r.startsWith(name + "/")) {
              why.put(r.substring(name.length() + 1), n);
            }
          });
      s.put("dropped", why);
      steps.add(s);
    }
    m.put("steps", steps);
    Map<String, Long> pii = new LinkedHashMap<>();
    for (PiiRedaction.Kind kind : PiiRedaction.Kind.values()) {
      pii.put(kind.name().toLowerCase(Locale.ROOT), c.pii[kind.ordinal()]);
    }
    m.put("pii_redacted", pii);
    m.put("languages", c.languages);
    Map<String, Object> lengths = new LinkedHashMap<>();
    int last = 0;
    for (int i = 0; i < LENGTH_BUCKETS; i++) {
      if (c.lengthsIn[i] > 0) {
        last = i;
      }
    }
    List<Long> floors = new java.util.ArrayList<>();
    for (int i = 0; i <= last; i++) {
      floors.add(i == 0 ? 0L : 1L << i);
    }
    lengths.put("bucket_floor_bytes", floors);
    lengths.put("input_docs", java.util.Arrays.stream(c.lengthsIn, 0, last + 1).boxed().toList());
    lengths.put("kept_docs", java.util.Arrays.stream(c.lengthsKept, 0, last + 1).boxed().toList());
    m.put("length_histogram", lengths);
    m.putAll(extra);
    return m;
  }

  public String toJson() {
    try {
      return new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(toMap());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The same report as a self-contained HTML page: the totals, documents in and out per step, the
   * top drop reasons, languages, document lengths before and after, PII counts, near-duplicate
   * cluster sizes and, with decontamination, the benchmarks.
   */
  public String html(String title) {
    Map<String, Object> m = toMap();
    HtmlReport h = new HtmlReport(title);
    h.table(
        List.of("input docs", "kept", "rejected", "quarantined", "MB in", "MB kept", "seconds"),
        List.of(
            List.of(
                c.inputDocs(),
                c.kept,
                c.rejected,
                c.quarantined,
                c.bytesIn[0] / 1e6,
                c.bytesOut[c.steps - 1] / 1e6,
                seconds)));
    List<String> stepNames = new java.util.ArrayList<>();
    List<Long> in = new java.util.ArrayList<>();
    List<Long> out = new java.util.ArrayList<>();
    List<List<Object>> rows = new java.util.ArrayList<>();
    for (int k = 0; k < c.steps; k++) {
      String name = Steps.NAMES.get(k);
      if (skipped.contains(name)) {
        continue;
      }
      stepNames.add(name);
      in.add(c.docsIn[k]);
      out.add(c.docsOut[k]);
      rows.add(List.of(name, c.docsIn[k], c.docsOut[k], c.bytesIn[k] / 1e6, c.bytesOut[k] / 1e6));
    }
    h.heading("Documents per step");
    Map<String, List<? extends Number>> inOut = new LinkedHashMap<>();
    inOut.put("documents in", in);
    inOut.put("documents out", out);
    h.barChart("Documents in and out per step", "step", "documents", stepNames, inOut);
    h.table(List.of("step", "docs in", "docs out", "MB in", "MB out"), rows);
    Map<String, Long> top = new LinkedHashMap<>();
    c.reasons.entrySet().stream()
        .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
        .limit(12)
        .forEach(e -> top.put(e.getKey(), e.getValue()));
    h.heading("Top drop reasons");
    h.barChart("Documents dropped, by step/reason (top 12)", "step/reason", "documents", top);
    h.heading("Languages of the kept documents");
    h.barChart("Kept documents per language", "language", "documents", c.languages);
    h.heading("Document lengths");
    @SuppressWarnings("unchecked")
    Map<String, Object> lengths = (Map<String, Object>) m.get("length_histogram");
    List<String> buckets =
        ((List<?>) lengths.get("bucket_floor_bytes"))
            .stream().map(b -> String.format(Locale.ROOT, ">= %,d", (Long) b)).toList();
    Map<String, List<? extends Number>> before = new LinkedHashMap<>();
    before.put("input", (List<Long>) lengths.get("input_docs"));
    before.put("kept", (List<Long>) lengths.get("kept_docs"));
    h.barChart(
        "Documents by length in bytes, before and after cleaning",
        "bytes",
        "documents",
        buckets,
        before);
    h.heading("Personal data redacted");
    @SuppressWarnings("unchecked")
    Map<String, Long> pii = (Map<String, Long>) m.get("pii_redacted");
    h.barChart("PII replaced in kept documents", "kind", "occurrences", pii);
    if (extra.get("fuzzy_dedup") instanceof Map<?, ?> fuzzy
        && fuzzy.get("cluster_sizes") instanceof Map<?, ?> sizes) {
      h.heading("Near-duplicate clusters");
      Map<String, Long> bySize = new LinkedHashMap<>();
      sizes.forEach((size, n) -> bySize.put(String.valueOf(size), ((Number) n).longValue()));
      h.barChart(
          "Clusters of near-duplicates by size (survivor included)",
          "documents in the cluster",
          "clusters",
          bySize);
    }
    if (extra.get("decontamination") instanceof Map<?, ?> d
        && d.get("benchmarks") instanceof Map<?, ?> marks) {
      h.heading("Benchmark decontamination");
      List<List<Object>> benchRows = new java.util.ArrayList<>();
      marks.forEach(
          (name, v) -> {
            Map<?, ?> x = (Map<?, ?>) v;
            benchRows.add(
                List.of(
                    String.valueOf(name),
                    x.get("eval_items"),
                    x.get("eval_ngrams"),
                    x.get("docs_dropped"),
                    x.get("docs_cut"),
                    x.get("ngrams_matched")));
          });
      h.table(
          List.of(
              "benchmark", "eval items", "eval n-grams", "docs dropped", "docs cut", "n-grams hit"),
          benchRows);
    }
    return h.html();
  }

  /** The table printed at the end of a run. */
  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "%-13s %10s %10s %11s %11s  %s%n",
            "step",
            "docs in",
            "docs out",
            "MB in",
            "MB out",
            "dropped (top reasons)"));
    for (int k = 0; k < c.steps; k++) {
      String name = Steps.NAMES.get(k);
      if (name.equals(Steps.DECONTAMINATE) && skipped.contains(name)) {
        continue; // opt-in (--decontaminate): not worth a row when off
      }
      StringBuilder why = new StringBuilder();
      c.reasons.entrySet().stream()
          .filter(e -> e.getKey().startsWith(name + "/"))
          .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
          .limit(4)
          .forEach(
              e ->
                  why.append(why.length() > 0 ? ", " : "")
                      .append(e.getKey().substring(name.length() + 1))
                      .append('=')
                      .append(e.getValue()));
      b.append(
          String.format(
              Locale.ROOT,
              "%-13s %10d %10d %11.2f %11.2f  %s%n",
              name + (skipped.contains(name) ? "*" : ""),
              c.docsIn[k],
              c.docsOut[k],
              c.bytesIn[k] / 1e6,
              c.bytesOut[k] / 1e6,
              why));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "input %d docs = kept %d + rejected %d + quarantined %d; %.1f MB in %.1f s (%.2f MB/s)%n",
            c.inputDocs(),
            c.kept,
            c.rejected,
            c.quarantined,
            c.bytesIn[0] / 1e6,
            seconds,
            seconds > 0 ? c.bytesIn[0] / 1e6 / seconds : 0));
    if (extra.get("decontamination") instanceof Map<?, ?> d
        && d.get("benchmarks") instanceof Map<?, ?> marks) {
      b.append(
          String.format(
              Locale.ROOT,
              "%-16s %10s %12s %12s %9s %12s%n",
              "benchmark",
              "eval items",
              "eval n-grams",
              "docs dropped",
              "docs cut",
              "n-grams hit"));
      marks.forEach(
          (name, v) -> {
            Map<?, ?> m = (Map<?, ?>) v;
            b.append(
                String.format(
                    Locale.ROOT,
                    "%-16s %10d %12d %12d %9d %12d%n",
                    name,
                    m.get("eval_items"),
                    m.get("eval_ngrams"),
                    m.get("docs_dropped"),
                    m.get("docs_cut"),
                    m.get("ngrams_matched")));
          });
    }
    List<String> off = skipped.stream().filter(s -> !s.equals(Steps.DECONTAMINATE)).toList();
    if (!off.isEmpty()) {
      b.append("* skipped: ").append(String.join(", ", off)).append('\n');
    }
    return b.toString();
  }
}
