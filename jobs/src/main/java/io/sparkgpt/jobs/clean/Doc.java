package io.sparkgpt.jobs.clean;

import java.io.Serializable;
import java.util.TreeMap;

/**
 * One document on its way through the cleaning pipeline, or the trace of where it left it. Mutable: each step
 * rewrites the text in place or marks the document dropped, so a partition allocates one object per document.
 */
public final class Doc implements Serializable {
  public enum Status { KEPT, REJECTED, QUARANTINED }

  /** Stable across runs and partitionings: a hash of the source file and the record's position in it. */
  public String id;
  public String source;
  public String text;
  /** ISO 639-1 code for prose, the programming language for code, "und" when unknown. */
  public String language;
  public double languageConfidence;
  public boolean code;
  public TreeMap<String, String> metadata = new TreeMap<>();

  public Status status = Status.KEPT;
  /** For dropped documents: the step, the rule within it and a human-readable detail. */
  public String step;
  public String rule;
  public String detail;
  /** Raw bytes of an undecodable record, kept so that the quarantine holds it unmangled. */
  public byte[] raw;

  /** bytesAt[k] = UTF-8 bytes of the document when it entered step k of {@link Steps#NAMES}. */
  public long[] bytesAt = new long[Steps.NAMES.size() + 1];
  /** Index of the step that dropped the document, or NAMES.size() when it is kept. */
  public int reached = Steps.NAMES.size();
  public int[] piiCounts;
  /** Set by the decontaminate step when an n-gram hash of the document is in the eval filter; not yet verified. */
  public boolean overlapCandidate;
  /** A verified overlap with the eval sets: the document was dropped for it, or cut. */
  public Overlap overlap;

  private transient TextStats stats;
  /** UTF-8 bytes of the text: counted by the reader where it scans the text anyway, else on first use; -1: not yet. */
  private long textBytes = -1;

  /** What decontamination found (a class, not a record: Spark's Kryo serializer cannot build records). */
  public static final class Overlap implements Serializable {
    /** The benchmark of the first overlapping n-gram, and that n-gram as written in the document. */
    public String benchmark;
    public String ngram;
    /** Overlapping n-gram positions per benchmark (an n-gram found in two benchmarks counts for both). */
    public TreeMap<String, Integer> ngramsPerBenchmark;
    /** Whether the document was kept with the overlapping spans cut out, and the text removed. */
    public boolean cut;
    public String removed;
  }

  public Doc() {}

  public Doc(String id, String source) {
    this.id = id;
    this.source = source;
  }

  public boolean kept() {
    return status == Status.KEPT;
  }

  public void drop(Status how, int stepIndex, String rule, String detail) {
    this.status = how;
    this.reached = stepIndex;
    this.step = Steps.NAMES.get(stepIndex);
    this.rule = rule;
    this.detail = detail;
  }

  public String reason() {
    return detail == null || detail.isEmpty() ? rule : rule + ": " + detail;
  }

  /** Word, line and paragraph statistics of the current text, computed once and shared by the filters. */
  public TextStats stats() {
    if (stats == null) {
      stats = new TextStats(text);
    }
    return stats;
  }

  /** The UTF-8 length of the current text (an unpaired surrogate counts as the 3 bytes of its replacement). */
  public long textBytes() {
    if (textBytes < 0) {
      textBytes = Utf8.length(text);
    }
    return textBytes;
  }

  /** Sets the text with its UTF-8 length, already known to the caller. */
  void setText(String newText, long utf8Bytes) {
    setText(newText);
    textBytes = utf8Bytes;
  }

  public void setText(String newText) {
    text = newText;
    stats = null;
    textBytes = -1;
  }
}
