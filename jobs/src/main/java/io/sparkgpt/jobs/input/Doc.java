package io.sparkgpt.jobs.input;

import io.sparkgpt.jobs.Utf8;
import java.io.Serializable;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One input document as {@link DocReader} read it, on its way through a pipeline (cleaning,
 * tokenizing), or the trace of where it left it. Mutable through named steps only: a step replaces
 * the text in place or drops the document, so a partition allocates one object per document and no
 * step copies the text.
 *
 * <p>Steps are numbered by the pipeline that runs them; step {@link #READ_STEP} is reading
 * (decoding) the input, where {@link DocReader} quarantines what it cannot decode.
 */
public final class Doc implements Serializable {
  public enum Status {
    KEPT,
    REJECTED,
    QUARANTINED
  }

  /** The step index of reading the input: the reader's quarantines carry it. */
  public static final int READ_STEP = 0;

  // Set by the reader (same package); every other change goes through the methods below.
  /**
   * Stable across runs and partitionings: a hash of the source file and the record's position in
   * it.
   */
  String id;

  String source;
  String text;

  /** ISO 639-1 code for prose, the programming language for code, "und" when unknown. */
  String language;

  boolean code;
  TreeMap<String, String> metadata = new TreeMap<>();

  /** Raw bytes of an undecodable record, kept so that the quarantine holds it unmangled. */
  byte[] raw;

  /** UTF-8 bytes of the record as read (the text's, or the raw bytes' of an undecodable record). */
  long inputBytes;

  private double languageConfidence;
  private Status status = Status.KEPT;

  /** For dropped documents: the step index, the rule within it and a human-readable detail. */
  private int droppedAt = -1;

  private String rule;
  private String detail;

  /**
   * bytesAt[k] = UTF-8 bytes of the document when it entered step k; null until {@link
   * #startTrace}.
   */
  private long[] bytesAt;

  private int[] piiCounts;

  /**
   * Set by the decontaminate step when an n-gram hash of the document is in the eval filter; not
   * yet verified.
   */
  private boolean overlapCandidate;

  /** A verified overlap with the eval sets: the document was dropped for it, or cut. */
  private Overlap overlap;

  /**
   * A value computed from the current text and shared by the steps that ask for it; forgotten with
   * the text.
   */
  private transient Object derived;

  /**
   * UTF-8 bytes of the text: counted by the reader where it scans the text anyway, else on first
   * use; -1: not yet.
   */
  private long textBytes = -1;

  /**
   * What decontamination found (a class, not a record: Spark's Kryo serializer cannot build
   * records).
   */
  public static final class Overlap implements Serializable {
    private String benchmark;
    private String ngram;
    private TreeMap<String, Integer> ngramsPerBenchmark;
    private boolean cut;
    private String removed;

    private Overlap() {}

    /**
     * @param benchmark the benchmark of the first overlapping n-gram
     * @param ngram that n-gram as written in the document
     * @param ngramsPerBenchmark overlapping n-gram positions per benchmark (an n-gram found in two
     *     benchmarks counts for both)
     */
    public Overlap(String benchmark, String ngram, TreeMap<String, Integer> ngramsPerBenchmark) {
      this.benchmark = benchmark;
      this.ngram = ngram;
      this.ngramsPerBenchmark = ngramsPerBenchmark;
    }

    public String benchmark() {
      return benchmark;
    }

    public String ngram() {
      return ngram;
    }

    public SortedMap<String, Integer> ngramsPerBenchmark() {
      return Collections.unmodifiableSortedMap(ngramsPerBenchmark);
    }

    /** Whether the document was kept with the overlapping spans cut out. */
    public boolean cut() {
      return cut;
    }

    /** The text cut out, or null. */
    public String removed() {
      return removed;
    }

    /** The document is kept with the overlapping spans, {@code removedText}, cut out. */
    public void cutOut(String removedText) {
      this.cut = true;
      this.removed = removedText;
    }
  }

  /** For Spark's serializers. */
  public Doc() {}

  Doc(String id, String source) {
    this.id = id;
    this.source = source;
  }

  /**
   * A kept document with this text, as the reader makes one (for steps run outside a reader: tests,
   * tools).
   */
  public static Doc of(String id, String source, String text, boolean code) {
    Doc d = new Doc(id, source);
    d.code = code;
    d.language = code ? "code" : null;
    d.replaceText(text);
    d.inputBytes = d.textBytes();
    return d;
  }

  public String id() {
    return id;
  }

  public String source() {
    return source;
  }

  /** The current text: as read, then as the steps so far left it. */
  public String text() {
    return text;
  }

  public String language() {
    return language;
  }

  public double languageConfidence() {
    return languageConfidence;
  }

  public boolean code() {
    return code;
  }

  /** The record's other fields (JSONL, Parquet), by name. */
  public SortedMap<String, String> metadata() {
    return Collections.unmodifiableSortedMap(metadata);
  }

  /** The undecodable record's bytes exactly as read (not copied: do not change them), or null. */
  public byte[] raw() {
    return raw;
  }

  public Status status() {
    return status;
  }

  public boolean kept() {
    return status == Status.KEPT;
  }

  /** The index of the step that dropped the document, or -1 while it is kept. */
  public int droppedAt() {
    return droppedAt;
  }

  public String rule() {
    return rule;
  }

  public String detail() {
    return detail;
  }

  public String reason() {
    return detail == null || detail.isEmpty() ? rule : rule + ": " + detail;
  }

  /**
   * Drops the document at pipeline step {@code step} for {@code rule}, with the measured value in
   * {@code detail}.
   */
  public void reject(int step, String rule, String detail) {
    drop(Status.REJECTED, step, rule, detail);
  }

  /** The reader could not decode the record: it is kept aside, with its raw bytes if it has any. */
  void quarantine(String rule, String detail) {
    drop(Status.QUARANTINED, READ_STEP, rule, detail);
  }

  private void drop(Status how, int step, String rule, String detail) {
    this.status = how;
    this.droppedAt = step;
    this.rule = rule;
    this.detail = detail;
  }

  /** Replaces the text (a step's rewrite); values derived from the old text are forgotten. */
  public void replaceText(String newText) {
    text = newText;
    derived = null;
    textBytes = -1;
  }

  /** {@link #replaceText} with the UTF-8 length, already known to the caller. */
  void replaceText(String newText, long utf8Bytes) {
    replaceText(newText);
    textBytes = utf8Bytes;
  }

  /**
   * The UTF-8 length of the current text (an unpaired surrogate counts as the 3 bytes of its
   * replacement).
   */
  public long textBytes() {
    if (textBytes < 0) {
      textBytes = Utf8.length(text);
    }
    return textBytes;
  }

  /**
   * {@code compute(text)}, computed once for the current text and shared by every step that asks
   * for the same type (one slot: the cleaning filters share their word and line statistics through
   * it).
   */
  public <T> T derived(Class<T> type, Function<String, T> compute) {
    if (!type.isInstance(derived)) {
      derived = compute.apply(text);
    }
    return type.cast(derived);
  }

  public void identifiedLanguage(String language, double confidence) {
    this.language = language;
    this.languageConfidence = confidence;
  }

  /**
   * Redaction counts per kind of personal data (the cleaning pipeline's own order), or null if not
   * redacted.
   */
  public int[] piiCounts() {
    return piiCounts;
  }

  public void redacted(int[] countsPerKind) {
    this.piiCounts = countsPerKind;
  }

  public void markOverlapCandidate() {
    overlapCandidate = true;
  }

  /** Whether the document was marked an overlap candidate, clearing the mark. */
  public boolean takeOverlapCandidate() {
    boolean was = overlapCandidate;
    overlapCandidate = false;
    return was;
  }

  /** The verified overlap with the eval sets, or null. */
  public Overlap overlap() {
    return overlap;
  }

  public void overlapFound(Overlap o) {
    this.overlap = o;
  }

  /**
   * Starts the size trace of a pipeline of {@code steps} steps; step {@link #READ_STEP}'s is the
   * size as read.
   */
  public void startTrace(int steps) {
    bytesAt = new long[steps + 1];
    bytesAt[READ_STEP] = inputBytes;
  }

  /**
   * The document entered {@code step} with {@code bytes} UTF-8 bytes ({@code step == steps}: left
   * it kept).
   */
  public void enterStep(int step, long bytes) {
    bytesAt[step] = bytes;
  }

  /**
   * The UTF-8 bytes of the document on entry to {@code step}; 0 past where a dropped document's
   * trace ends.
   */
  public long bytesAt(int step) {
    if (bytesAt == null) {
      return step == READ_STEP ? inputBytes : 0;
    }
    return step < bytesAt.length ? bytesAt[step] : 0;
  }
}
