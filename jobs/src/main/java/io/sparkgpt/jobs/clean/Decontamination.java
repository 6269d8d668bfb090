package io.sparkgpt.jobs.clean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.Utf8;
import io.sparkgpt.jobs.input.Doc;
import io.sparkgpt.jobs.input.Inputs;
import it.unimi.dsi.fastutil.longs.LongOpenHashSet;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.sketch.BloomFilter;

/**
 * Benchmark decontamination (GPT-3, appendix C): a training document that shares a word n-gram (13
 * by default) with an evaluation set is dropped, or has the overlapping spans cut out with a margin
 * of words around them.
 *
 * <p>It runs in two passes so that executors never hold the evaluation text. The driver hashes
 * every n-gram of the eval sets into a filter (a hash set of 64-bit hashes, or a Bloom filter above
 * {@code bloomAboveNgrams}) that is broadcast; the {@link Probe} step marks documents with a hit
 * and collects the hit hashes. The driver then re-reads the eval sets and keeps the n-gram text of
 * the hashes that were hit, and {@link #resolve} checks each marked document's n-grams against that
 * text word for word before it drops or cuts anything. So a hash collision or a Bloom false
 * positive never costs a document.
 *
 * <p>Words are maximal runs of letters and digits, lower-cased, so punctuation and spacing do not
 * matter; with CJK-aware splitting (the default) every Han or kana character is a word of its own.
 * Text without CJK characters splits the same way either way, so the CJK-aware mode is right for
 * every document of a mixed corpus; "whitespace" keeps runs of CJK characters as one word.
 */
public final class Decontamination implements Serializable {
  /** One eval file; the benchmark is its file name without extensions. */
  public record EvalFile(String path, String benchmark, boolean jsonl) implements Serializable {}

  private final CleanConfig.Decontaminate config;
  private final Normalizer.Form form;
  private final List<EvalFile> evals;
  private final Broadcast<NgramFilter> filter;
  private final CollectionAccumulator<long[]> hits;

  /** Per benchmark: eval items and n-gram positions read (for the report). */
  private final Map<String, long[]> evalCounts;

  private Broadcast<HashMap<Long, EvalNgram>> verified;

  private Decontamination(
      CleanConfig.Decontaminate config,
      Normalizer.Form form,
      List<EvalFile> evals,
      Broadcast<NgramFilter> filter,
      CollectionAccumulator<long[]> hits,
      Map<String, long[]> evalCounts) {
    this.config = config;
    this.form = form;
    this.evals = evals;
    this.filter = filter;
    this.hits = hits;
    this.evalCounts = evalCounts;
  }

  /**
   * The eval files named by --decontaminate, checked to exist and to have distinct benchmark names.
   */
  public static List<EvalFile> evalFiles(Configuration conf, List<String> paths)
      throws IOException {
    List<EvalFile> out = new ArrayList<>();
    Map<String, String> seen = new HashMap<>();
    for (String p : paths) {
      Path path = new Path(p);
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.isFile(path)) {
        throw new UserError("--decontaminate: eval file not found: " + p);
      }
      String name = Inputs.stripCompression(path.getName());
      boolean jsonl = Inputs.formatOf(path.getName()) == Inputs.Format.JSONL;
      String benchmark = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
      String other = seen.put(benchmark, p);
      if (other != null) {
        throw new UserError(
            "--decontaminate: " + other + " and " + p + " are both benchmark '" + benchmark + "'");
      }
      out.add(new EvalFile(path.toString(), benchmark, jsonl));
    }
    return out;
  }

  /**
   * Reads the eval sets on the driver and broadcasts their n-gram filter.
   *
   * @throws UserError for an unreadable or malformed eval file, or one without a single n-gram
   */
  public static Decontamination prepare(
      JavaSparkContext jsc,
      CleanConfig.Decontaminate config,
      String normalForm,
      List<EvalFile> evals)
      throws IOException {
    Configuration conf = jsc.hadoopConfiguration();
    Normalizer.Form form =
        normalForm.equalsIgnoreCase("nfkc") ? Normalizer.Form.NFKC : Normalizer.Form.NFC;
    boolean cjk = config.cjkAware();
    int n = config.ngram();
    // Pass 1 counts n-gram positions, so that the filter is sized before anything is inserted.
    Map<String, long[]> counts = new LinkedHashMap<>();
    for (EvalFile e : evals) {
      long[] c = new long[2];
      forEachItem(
          conf,
          e,
          config.textFields(),
          form,
          text -> {
            c[0]++;
            c[1] += Math.max(0, Words.split(text, cjk).count - n + 1);
          });
      if (c[1] == 0) {
        throw new UserError(
            "--decontaminate: "
                + e.path()
                + " has no text of "
                + n
                + " words or more"
                + (c[0] == 0 ? " (it is empty)" : ""));
      }
      counts.put(e.benchmark(), c);
    }
    long positions = counts.values().stream().mapToLong(c -> c[1]).sum();
    NgramFilter f =
        new NgramFilter(positions > config.bloomAboveNgrams(), positions, config.bloomFpp());
    for (EvalFile e : evals) {
      forEachItem(
          conf,
          e,
          config.textFields(),
          form,
          text -> {
            for (long h : Words.split(text, cjk).ngramHashes(n)) {
              f.add(h);
            }
          });
    }
    return new Decontamination(
        config,
        form,
        evals,
        jsc.broadcast(f),
        jsc.sc().collectionAccumulator("decontamination hits"),
        counts);
  }

  /** The document-level step: marks documents with an n-gram that the filter knows. */
  public Step probe() {
    return new Probe(this);
  }

  static final class Probe implements Step {
    private final Decontamination d;

    Probe(Decontamination d) {
      this.d = d;
    }

    @Override
    public String name() {
      return Steps.DECONTAMINATE;
    }

    @Override
    public Rejection apply(Doc doc) {
      long[] hashes = Words.split(doc.text(), d.config.cjkAware()).ngramHashes(d.config.ngram());
      NgramFilter f = d.filter.value();
      long[] found = null;
      int k = 0;
      for (long h : hashes) {
        if (f.mightContain(h)) {
          if (found == null) {
            found = new long[8];
          } else if (k == found.length) {
            found = Arrays.copyOf(found, k * 2);
          }
          found[k++] = h;
        }
      }
      if (found != null) {
        doc.markOverlapCandidate();
        d.hits.add(Arrays.copyOf(found, k));
      }
      return null;
    }
  }

  /**
   * On the driver, after the probe pass: the eval n-grams whose hash some document hit, with their
   * text and benchmarks, broadcast for {@link #resolve}. Returns how many distinct hashes were hit
   * and how many of them are eval n-grams.
   */
  public long[] verify(JavaSparkContext jsc) throws IOException {
    LongOpenHashSet hit = new LongOpenHashSet();
    for (long[] a : hits.value()) {
      hit.addAll(it.unimi.dsi.fastutil.longs.LongArrayList.wrap(a));
    }
    HashMap<Long, EvalNgram> found = new HashMap<>();
    if (!hit.isEmpty()) {
      boolean cjk = config.cjkAware();
      int n = config.ngram();
      for (EvalFile e : evals) {
        forEachItem(
            jsc.hadoopConfiguration(),
            e,
            config.textFields(),
            form,
            text -> {
              Words w = Words.split(text, cjk);
              long[] hashes = w.ngramHashes(n);
              for (int i = 0; i < hashes.length; i++) {
                if (hit.contains(hashes[i])) {
                  String t = w.canonical(text, i, n);
                  EvalNgram g = found.computeIfAbsent(hashes[i], h -> new EvalNgram(t));
                  if (g.text.equals(
                      t)) { // else a hash collision between two eval n-grams: the first one counts
                    g.benchmarks.add(e.benchmark());
                  }
                }
              }
            });
      }
    }
    verified = jsc.broadcast(found);
    return new long[] {hit.size(), found.size()};
  }

  /**
   * Drops or cuts a document that the probe marked, if one of its n-grams really is an eval n-gram;
   * called after {@link #verify}. Unmarked documents pass untouched.
   */
  public Doc resolve(Doc doc) {
    if (!doc.kept() || !doc.takeOverlapCandidate()) {
      return doc;
    }
    Map<Long, EvalNgram> evalNgrams = verified.value();
    int n = config.ngram();
    Words w = Words.split(doc.text(), config.cjkAware());
    long[] hashes = w.ngramHashes(n);
    List<Integer> at = new ArrayList<>();
    TreeMap<String, Integer> perBenchmark = new TreeMap<>();
    String first = null;
    for (int i = 0; i < hashes.length; i++) {
      EvalNgram g = evalNgrams.get(hashes[i]);
      if (g != null && g.text.equals(w.canonical(doc.text(), i, n))) {
        at.add(i);
        if (first == null) {
          first = g.benchmarks.first();
        }
        for (String b : g.benchmarks) {
          perBenchmark.merge(b, 1, Integer::sum);
        }
      }
    }
    if (at.isEmpty()) {
      return doc; // a hash collision or a Bloom false positive
    }
    Doc.Overlap o = new Doc.Overlap(first, w.original(doc.text(), at.get(0), n), perBenchmark);
    doc.overlapFound(o);
    int step = Steps.index(Steps.DECONTAMINATE);
    String what =
        at.size()
            + " "
            + n
            + "-gram"
            + (at.size() == 1 ? "" : "s")
            + " of "
            + String.join(", ", perBenchmark.keySet())
            + ", first: \""
            + o.ngram()
            + "\"";
    if (!config.action().equals("cut")) {
      doc.reject(step, "benchmark_overlap", what);
      return doc;
    }
    // Word ranges to remove: each match widened by the margin, overlapping ranges merged.
    int m = config.marginWords();
    List<int[]> ranges = new ArrayList<>();
    for (int i : at) {
      int from = Math.max(0, i - m);
      int to = Math.min(w.count, i + n + m);
      int[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
      if (last != null && from <= last[1]) {
        last[1] = Math.max(last[1], to);
      } else {
        ranges.add(new int[] {from, to});
      }
    }
    if (ranges.size() > config.maxCuts()) {
      doc.reject(
          step,
          "benchmark_overlap",
          ranges.size() + " overlapping spans (more than " + config.maxCuts() + "): " + what);
      return doc;
    }
    StringBuilder kept = new StringBuilder();
    StringBuilder removed = new StringBuilder();
    int pos = 0;
    for (int[] r : ranges) {
      int cutFrom = r[0] == 0 ? 0 : w.starts[r[0]];
      int cutTo = r[1] == w.count ? doc.text().length() : w.starts[r[1]];
      appendPiece(kept, doc.text().substring(pos, cutFrom), "\n\n");
      appendPiece(removed, doc.text().substring(cutFrom, cutTo), "\n[...]\n");
      pos = cutTo;
    }
    appendPiece(kept, doc.text().substring(pos), "\n\n");
    if (Words.split(kept.toString(), config.cjkAware()).count == 0) {
      doc.reject(step, "benchmark_overlap", "nothing left after cutting " + what);
      return doc;
    }
    o.cutOut(removed.toString());
    doc.replaceText(kept.toString());
    long bytes = Utf8.length(doc.text());
    for (int k = step + 1; k <= Steps.NAMES.size(); k++) {
      doc.enterStep(k, bytes);
    }
    return doc;
  }

  private static void appendPiece(StringBuilder b, String piece, String separator) {
    String p = piece.strip();
    if (!p.isEmpty()) {
      if (b.length() > 0) {
        b.append(separator);
      }
      b.append(p);
    }
  }

  /**
   * The report's section: settings, the filter, and per benchmark the eval items and n-grams read
   * and the documents dropped or cut.
   *
   * @param matched per benchmark: documents dropped, documents cut, overlapping n-grams (from the
   *     final documents)
   * @param verified what {@link #verify} returned
   */
  public Map<String, Object> report(Map<String, long[]> matched, long[] verified) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ngram", config.ngram());
    m.put("split", config.split());
    m.put("action", config.action());
    if (config.action().equals("cut")) {
      m.put("margin_words", config.marginWords());
    }
    m.put("filter", filter.value().bloom != null ? "bloom" : "hash_set");
    m.put("hashes_hit", verified[0]);
    m.put("eval_ngrams_hit", verified[1]);
    Map<String, Object> perBenchmark = new LinkedHashMap<>();
    evalCounts.forEach(
        (b, c) -> {
          long[] a = matched.getOrDefault(b, new long[3]);
          Map<String, Object> x = new LinkedHashMap<>();
          x.put("eval_items", c[0]);
          x.put("eval_ngrams", c[1]);
          x.put("docs_dropped", a[0]);
          x.put("docs_cut", a[1]);
          x.put("ngrams_matched", a[2]);
          perBenchmark.put(b, x);
        });
    m.put("benchmarks", perBenchmark);
    return m;
  }

  /** An eval n-gram that some document hit: its canonical text and every benchmark it occurs in. */
  static final class EvalNgram implements Serializable {
    final String text;
    final TreeSet<String> benchmarks = new TreeSet<>();

    EvalNgram(String text) {
      this.text = text;
    }
  }

  /**
   * The broadcast set of eval n-gram hashes: exact (8 to 16 bytes per n-gram) or a Bloom filter.
   */
  static final class NgramFilter implements Serializable {
    final LongOpenHashSet set;
    final BloomFilter bloom;

    NgramFilter(boolean useBloom, long expected, double fpp) {
      set = useBloom ? null : new LongOpenHashSet((int) expected);
      bloom = useBloom ? BloomFilter.create(expected, fpp) : null;
    }

    void add(long h) {
      if (set != null) {
        set.add(h);
      } else {
        bloom.putLong(h);
      }
    }

    boolean mightContain(long h) {
      return set != null ? set.contains(h) : bloom.mightContainLong(h);
    }
  }

  /** A text's words: character spans and 64-bit hashes of their lower-cased code points. */
  static final class Words {
    int count;
    int[] starts;
    int[] ends;
    long[] hashes;

    static Words split(String text, boolean cjkAware) {
      Words w = new Words();
      int cap = Math.max(16, text.length() / 5);
      w.starts = new int[cap];
      w.ends = new int[cap];
      w.hashes = new long[cap];
      int len = text.length();
      int i = 0;
      while (i < len) {
        int cp = text.codePointAt(i);
        int size = Character.charCount(cp);
        if (cjkAware && cp >= 0x2E80 && TextStats.isCjk(cp)) {
          w.add(i, i + size, LongCounter.mix(cp));
          i += size;
        } else if (Character.isLetterOrDigit(cp)) {
          int start = i;
          long h = 0xcbf29ce484222325L;
          do {
            h = (h ^ Character.toLowerCase(cp)) * 0x100000001b3L;
            i += size;
            if (i >= len) {
              break;
            }
            cp = text.codePointAt(i);
            size = Character.charCount(cp);
          } while (Character.isLetterOrDigit(cp)
              && !(cjkAware && cp >= 0x2E80 && TextStats.isCjk(cp)));
          w.add(start, i, LongCounter.mix(h));
        } else {
          i += size;
        }
      }
      return w;
    }

    private void add(int start, int end, long hash) {
      if (count == starts.length) {
        starts = Arrays.copyOf(starts, count * 2);
        ends = Arrays.copyOf(ends, count * 2);
        hashes = Arrays.copyOf(hashes, count * 2);
      }
      starts[count] = start;
      ends[count] = end;
      hashes[count++] = hash;
    }

    /**
     * Hash of every n-gram, by position: sum of word hash x P^(n-1-k), rolled one word at a time.
     */
    long[] ngramHashes(int n) {
      if (count < n) {
        return new long[0];
      }
      final long p = 0x9E3779B97F4A7C15L;
      long top = 1; // P^(n-1)
      long h = 0;
      for (int k = 0; k < n; k++) {
        h = h * p + hashes[k];
        if (k > 0) {
          top *= p;
        }
      }
      long[] out = new long[count - n + 1];
      out[0] = h;
      for (int i = 1; i < out.length; i++) {
        h = (h - hashes[i - 1] * top) * p + hashes[i + n - 1];
        out[i] = h;
      }
      return out;
    }

    /**
     * The n words from word i, lower-cased as for hashing, joined by single spaces: what
     * verification compares.
     */
    String canonical(String text, int i, int n) {
      StringBuilder b = new StringBuilder();
      for (int k = i; k < i + n; k++) {
        if (k > i) {
          b.append(' ');
        }
        text.substring(starts[k], ends[k])
            .codePoints()
            .forEach(c -> b.appendCodePoint(Character.toLowerCase(c)));
      }
      return b.toString();
    }

    /**
     * The document's own text of the n words from word i, whitespace collapsed, at most 300
     * characters.
     */
    String original(String text, int i, int n) {
      String s = text.substring(starts[i], ends[i + n - 1]).replaceAll("\\s+", " ");
      return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Every text of an eval file, normalised like the documents: the given fields of each JSONL line,
   * or the whole of a plain text file (n-grams never cross from one JSONL field or line to the
   * next).
   */
  static void forEachItem(
      Configuration conf,
      EvalFile e,
      List<String> fields,
      Normalizer.Form form,
      java.util.function.Consumer<String> item)
      throws IOException {
    Path path = new Path(e.path());
    FileSystem fs = path.getFileSystem(conf);
    CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
    try (InputStream raw = fs.open(path);
        InputStream in = codec == null ? raw : codec.createInputStream(raw);
        BufferedReader r =
            new BufferedReader(
                new InputStreamReader(
                    in,
                    StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)))) {
      if (!e.jsonl()) {
        StringBuilder all = new StringBuilder();
        char[] buf = new char[1 << 16];
        for (int k; (k = r.read(buf)) > 0; ) {
          all.append(buf, 0, k);
        }
        item.accept(Normalizer.normalize(all, form));
        return;
      }
      String line;
      int lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
          throw new UserError(
              "--decontaminate "
                  + e.path()
                  + " line "
                  + lineNo
                  + ": malformed JSON ("
                  + ex.getOriginalMessage().split("\n")[0]
                  + ")");
        }
        if (node == null || !node.isObject()) {
          throw new UserError(
              "--decontaminate " + e.path() + " line " + lineNo + ": not a JSON object");
        }
        boolean any = false;
        for (String f : fields) {
          JsonNode v = node.get(f);
          if (v != null && v.isTextual()) {
            item.accept(Normalizer.normalize(v.asText(), form));
            any = true;
          }
        }
        if (!any) {
          throw new UserError(
              "--decontaminate "
                  + e.path()
                  + " line "
                  + lineNo
                  + ": no text field ("
                  + String.join(", ", fields)
                  + ")");
        }
      }
    } catch (java.nio.charset.CharacterCodingException ex) {
      throw new UserError("--decontaminate " + e.path() + ": not valid UTF-8");
    }
  }
}
