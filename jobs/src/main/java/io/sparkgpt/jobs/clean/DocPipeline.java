package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.Utf8;
import io.sparkgpt.jobs.input.Doc;
import java.io.Serializable;
import java.util.Set;
import org.apache.spark.util.LongAccumulator;

/**
 * The document-level part of cleaning: the {@link Steps.Kind#DOCUMENT} entries of {@link
 * Steps#PIPELINE}, in order. (The two dedup steps need all documents at once and run as Spark
 * shuffles afterwards.) Each document either comes out kept, with its final text, or carries the
 * step, rule and detail that dropped it, plus its size on entry to every step for the report.
 */
public final class DocPipeline implements Serializable {
  private final Step[] byIndex = new Step[Steps.NAMES.size()];

  /**
   * CPU time per step, summed over tasks (a metric for the report, so approximate under task
   * retries).
   */
  private final LongAccumulator[] nanos;

  public DocPipeline(CleanConfig c, Set<String> skip) {
    this(c, skip, null, null);
  }

  /**
   * @param nanos one accumulator per step index for step timings, or null
   * @param decontaminate the probe of {@link Decontamination}, or null when no eval sets are given
   */
  public DocPipeline(CleanConfig c, Set<String> skip, LongAccumulator[] nanos, Step decontaminate) {
    this.nanos = nanos;
    for (int i = 0; i < Steps.PIPELINE.size(); i++) {
      Steps.Entry e = Steps.PIPELINE.get(i);
      if (e.kind() != Steps.Kind.DOCUMENT || skip.contains(e.name())) {
        continue;
      }
      byIndex[i] = e.name().equals(Steps.DECONTAMINATE) ? decontaminate : e.document().apply(c);
    }
  }

  public Doc process(Doc doc) {
    if (!doc.kept()) {
      return doc; // quarantined while decoding
    }
    long bytes = doc.textBytes();
    doc.startTrace(Steps.NAMES.size());
    for (int i = 1; i < Steps.NAMES.size(); i++) {
      doc.enterStep(i, bytes);
      Step step = byIndex[i];
      if (step == null || !step.appliesTo(doc)) {
        continue;
      }
      String before = doc.text();
      long t0 = nanos == null ? 0 : System.nanoTime();
      Step.Rejection r = step.apply(doc);
      if (nanos != null) {
        nanos[i].add(System.nanoTime() - t0);
      }
      if (r != null) {
        doc.reject(i, r.rule(), r.detail());
        return doc;
      }
      if (doc.text() != before) {
        bytes = Utf8.length(doc.text());
      }
    }
    doc.enterStep(Steps.NAMES.size(), bytes);
    return doc;
  }
}
