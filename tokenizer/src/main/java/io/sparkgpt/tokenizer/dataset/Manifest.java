package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code manifest.json}: the one description of a dataset, written last by {@link
 * DatasetWriter#finish}. A folder without it is not a finished dataset. See the package
 * documentation for the meaning of every field.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("format") Format format,
    @JsonProperty("dtype") Dtype dtype,
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("eot_id") int eotId,
    @JsonProperty("seq_len") int seqLen,
    @JsonProperty("sample_tokens") int sampleTokens,
    @JsonProperty("job_key") String jobKey,
    @JsonProperty("tokenizer") TokenizerInfo tokenizer,
    @JsonProperty("splits") Map<String, Split> splits,
    @JsonProperty("stats") Stats stats,
    @JsonProperty("parameters") Map<String, Object> parameters,
    @JsonProperty("sources") @JsonInclude(JsonInclude.Include.NON_EMPTY)
        Map<String, Source> sources)
    implements Serializable {

  /** The only version this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  public static final String FILE = "manifest.json";
  public static final String TRAIN = "train";
  public static final String VALIDATION = "val";

  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public Manifest {
    splits = splits == null ? new LinkedHashMap<>() : new LinkedHashMap<>(splits);
    parameters = parameters == null ? new TreeMap<>() : new TreeMap<>(parameters);
    jobKey = jobKey == null ? "" : jobKey;
    sources = sources == null ? new TreeMap<>() : new TreeMap<>(sources);
  }

  /**
   * What one source contributed (the input's {@code source} field, as in {@code clean}'s output,
   * else the input file): its stored non-empty documents, their tokens (end-of-text included) and
   * UTF-8 text bytes, and the documents that were rejected. Checks a data mixture.
   */
  public record Source(
      @JsonProperty("documents") long documents,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("text_bytes") long textBytes,
      @JsonProperty("rejected_documents") long rejectedDocuments)
      implements Serializable {

    public Source plus(Source o) {
      return new Source(
          documents + o.documents,
          tokens + o.tokens,
          textBytes + o.textBytes,
          rejectedDocuments + o.rejectedDocuments);
    }

    /** Adds {@code more} into {@code into}, source by source. */
    public static void addAll(Map<String, Source> into, Map<String, Source> more) {
      more.forEach((k, v) -> into.merge(k, v, Source::plus));
    }
  }

  /** The tokenizer copy inside the dataset folder. */
  public record TokenizerInfo(
      @JsonProperty("name") String name,
      @JsonProperty("file") String file,
      @JsonProperty("sha256") String sha256)
      implements Serializable {}

  /**
   * One shard. {@code tokens} counts every stored token (document tokens and one end-of-text per
   * document); {@code samples = tokens / sample_tokens} (floor) and {@code unsampled_tokens =
   * tokens % sample_tokens}, the tail that is stored but belongs to no sample; {@code bytes =
   * tokens * dtype bytes}.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Shard(
      @JsonProperty("file") String file,
      @JsonProperty("documents") long documents,
      @JsonProperty("empty_documents") long emptyDocuments,
      @JsonProperty("rejected_documents") long rejectedDocuments,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("samples") long samples,
      @JsonProperty("unsampled_tokens") long unsampledTokens,
      @JsonProperty("bytes") long bytes,
      @JsonProperty("sha256") String sha256,
      @JsonProperty("idx_file") String idxFile,
      @JsonProperty("idx_bytes") Long idxBytes,
      @JsonProperty("idx_sha256") String idxSha256,
      @JsonProperty("text_bytes") long textBytes,
      @JsonProperty("seconds") double seconds)
      implements Serializable {}

  /** One split: the sums over its shards, and the shards in sample order. */
  public record Split(
      @JsonProperty("documents") long documents,
      @JsonProperty("empty_documents") long emptyDocuments,
      @JsonProperty("rejected_documents") long rejectedDocuments,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("samples") long samples,
      @JsonProperty("unsampled_tokens") long unsampledTokens,
      @JsonProperty("text_bytes") long textBytes,
      @JsonProperty("shards") List<Shard> shards)
      implements Serializable {

    public Split {
      shards = shards == null ? List.of() : List.copyOf(shards);
    }

    public static Split of(List<Shard> shards) {
      long d = 0, e = 0, r = 0, t = 0, s = 0, u = 0, b = 0;
      for (Shard sh : shards) {
        d += sh.documents();
        e += sh.emptyDocuments();
        r += sh.rejectedDocuments();
        t += sh.tokens();
        s += sh.samples();
        u += sh.unsampledTokens();
        b += sh.textBytes();
      }
      return new Split(d, e, r, t, s, u, b, shards);
    }
  }

  /**
   * The run: {@code documents} are the non-empty documents stored, {@code text_bytes} their UTF-8
   * bytes, {@code tokens} every stored token (end-of-text included), {@code bytes_per_token =
   * text_bytes / (tokens - documents)} (text tokens only), {@code stored_bytes} the shard files
   * (and indexes) on disk, {@code seconds} the wall time the job reported and {@code
   * tokens_per_second = tokens / seconds}.
   */
  public record Stats(
      @JsonProperty("documents") long documents,
      @JsonProperty("empty_documents") long emptyDocuments,
      @JsonProperty("rejected_documents") long rejectedDocuments,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("samples") long samples,
      @JsonProperty("unsampled_tokens") long unsampledTokens,
      @JsonProperty("text_bytes") long textBytes,
      @JsonProperty("stored_bytes") long storedBytes,
      @JsonProperty("bytes_per_token") double bytesPerToken,
      @JsonProperty("shards") int shards,
      @JsonProperty("min_tokens_per_shard") long minTokensPerShard,
      @JsonProperty("mean_tokens_per_shard") double meanTokensPerShard,
      @JsonProperty("max_tokens_per_shard") long maxTokensPerShard,
      @JsonProperty("seconds") double seconds,
      @JsonProperty("tokens_per_second") double tokensPerSecond)
      implements Serializable {

    public static Stats of(Map<String, Split> splits, double seconds) {
      long d = 0, e = 0, r = 0, t = 0, s = 0, u = 0, b = 0, stored = 0;
      long min = Long.MAX_VALUE, max = 0;
      int n = 0;
      for (Split sp : splits.values()) {
        for (Shard sh : sp.shards()) {
          d += sh.documents();
          e += sh.emptyDocuments();
          r += sh.rejectedDocuments();
          t += sh.tokens();
          s += sh.samples();
          u += sh.unsampledTokens();
          b += sh.textBytes();
          stored += sh.bytes() + (sh.idxBytes() == null ? 0 : sh.idxBytes());
          min = Math.min(min, sh.tokens());
          max = Math.max(max, sh.tokens());
          n++;
        }
      }
      long textTokens = t - d;
      return new Stats(
          d,
          e,
          r,
          t,
          s,
          u,
          b,
          stored,
          textTokens == 0 ? 0 : round(b / (double) textTokens, 4),
          n,
          n == 0 ? 0 : min,
          n == 0 ? 0 : round(t / (double) n, 1),
          max,
          round(seconds, 3),
          seconds > 0 ? Math.round(t / seconds) : 0);
    }

    private static double round(double v, int digits) {
      double f = Math.pow(10, digits);
      return Math.round(v * f) / f;
    }
  }

  /** The layout every shard of this dataset was written with. */
  @JsonIgnore
  public Layout layout() {
    return new Layout(
        format,
        dtype,
        vocabSize,
        eotId,
        seqLen,
        tokenizer == null ? "" : tokenizer.sha256(),
        jobKey);
  }

  /** The split's entry, or an empty split when the dataset has none of that name. */
  public Split split(String name) {
    Split s = splits.get(name);
    return s != null ? s : Split.of(List.of());
  }

  /**
   * Checks that the manifest agrees with itself: versions, layout, sample arithmetic, split sums
   * and stats.
   *
   * @throws IllegalArgumentException with a one-line reason
   */
  public void validate() {
    if (formatVersion != FORMAT_VERSION) {
      throw new IllegalArgumentException(
          FILE
              + ": unsupported format_version "
              + formatVersion
              + " (this reader knows "
              + FORMAT_VERSION
              + ")");
    }
    if (format == null || dtype == null) {
      throw new IllegalArgumentException(FILE + ": format and dtype are required");
    }
    try {
      layout();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(FILE + ": " + e.getMessage());
    }
    if (sampleTokens != seqLen + 1) {
      throw new IllegalArgumentException(
          FILE + ": sample_tokens " + sampleTokens + " != seq_len + 1 = " + (seqLen + 1));
    }
    if (tokenizer == null || tokenizer.file() == null || tokenizer.sha256() == null) {
      throw new IllegalArgumentException(FILE + ": tokenizer file and sha256 are required");
    }
    PlainFileName.check(FILE + ": tokenizer.file", tokenizer.file());
    for (Map.Entry<String, Split> e : splits.entrySet()) {
      Split sp = e.getValue();
      for (Shard sh : sp.shards()) {
        String where = FILE + ": shard " + sh.file() + ": ";
        if (sh.file() == null || sh.sha256() == null) {
          throw new IllegalArgumentException(where + "file and sha256 are required");
        }
        PlainFileName.check(FILE + ": splits." + e.getKey() + ".shards[].file", sh.file());
        if (sh.idxFile() != null) {
          PlainFileName.check(FILE + ": splits." + e.getKey() + ".shards[].idx_file", sh.idxFile());
        }
        if (sh.tokens() < 0
            || sh.samples() != sh.tokens() / sampleTokens
            || sh.unsampledTokens() != sh.tokens() % sampleTokens) {
          throw new IllegalArgumentException(
              where
                  + sh.tokens()
                  + " tokens, "
                  + sh.samples()
                  + " samples and "
                  + sh.unsampledTokens()
                  + " unsampled tokens disagree with sample_tokens "
                  + sampleTokens);
        }
        if (sh.bytes() != sh.tokens() * dtype.bytes()) {
          throw new IllegalArgumentException(
              where
                  + sh.bytes()
                  + " bytes != "
                  + sh.tokens()
                  + " tokens * "
                  + dtype.bytes()
                  + " bytes");
        }
        if (sh.tokens() < sh.documents()) {
          throw new IllegalArgumentException(where + "fewer tokens than documents");
        }
        if ((format == Format.MEGATRON) != (sh.idxFile() != null)) {
          throw new IllegalArgumentException(
              where + (format == Format.MEGATRON ? "no idx_file" : "idx_file in a native dataset"));
        }
        if (sh.idxFile() != null && (sh.idxSha256() == null || sh.idxBytes() == null)) {
          throw new IllegalArgumentException(where + "idx_bytes and idx_sha256 are required");
        }
      }
      Split sum = Split.of(sp.shards());
      if (!sum.equals(sp)) {
        throw new IllegalArgumentException(
            FILE + ": split " + e.getKey() + " totals disagree with its shards");
      }
      if (sp.samples() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            FILE
                + ": split "
                + e.getKey()
                + " has "
                + sp.samples()
                + " samples; at most "
                + Integer.MAX_VALUE
                + " per split are supported");
      }
    }
    if (!sources.isEmpty()) {
      Source total = sources.values().stream().reduce(new Source(0, 0, 0, 0), Source::plus);
      Stats sum = Stats.of(splits, 0);
      if (total.documents() != sum.documents()
          || total.tokens() != sum.tokens()
          || total.rejectedDocuments() != sum.rejectedDocuments()) {
        throw new IllegalArgumentException(FILE + ": per-source counts disagree with the shards");
      }
    }
    if (stats != null) {
      Stats sum = Stats.of(splits, stats.seconds());
      if (sum.documents() != stats.documents()
          || sum.tokens() != stats.tokens()
          || sum.samples() != stats.samples()
          || sum.shards() != stats.shards()) {
        throw new IllegalArgumentException(FILE + ": stats disagree with the shards");
      }
    }
  }

  /** Writes pretty-printed JSON; does not close {@code out}. */
  public void write(OutputStream out) throws IOException {
    JSON.writeValue(out, this);
  }

  public byte[] toBytes() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Parses a manifest; does not {@link #validate()} it beyond the format version.
   *
   * @param where names the file in messages
   * @throws IllegalArgumentException (one line) for malformed JSON, a missing or unknown
   *     format_version
   */
  public static Manifest read(InputStream in, String where) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(in);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + ": malformed JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(where + ": not a JSON object");
    }
    JsonNode v = root.get("format_version");
    if (v == null || !v.canConvertToInt()) {
      throw new IllegalArgumentException(
          where + ": no format_version: not a sparkgpt dataset manifest");
    }
    if (v.asInt() != FORMAT_VERSION) {
      throw new IllegalArgumentException(
          where
              + ": unsupported format_version "
              + v.asText()
              + " (this reader knows "
              + FORMAT_VERSION
              + ")");
    }
    try {
      return JSON.treeToValue(root, Manifest.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          where + ": invalid manifest: " + firstLine(e.getOriginalMessage()));
    }
  }

  static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /**
   * The end-of-job report: documents, tokens, bytes, bytes per token, tokens per shard, time,
   * tokens per second.
   */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    Stats s = stats != null ? stats : Stats.of(splits, 0);
    sb.append(
        String.format(
            Locale.ROOT,
            "dataset: %s, %s, vocab %d, eot %d, seq_len %d (samples of %d tokens), %d shards%n",
            format.id(),
            dtype.id(),
            vocabSize,
            eotId,
            seqLen,
            sampleTokens,
            s.shards()));
    for (Map.Entry<String, Split> e : splits.entrySet()) {
      Split sp = e.getValue();
      sb.append(
          String.format(
              Locale.ROOT,
              "  %-5s %,d documents, %,d tokens, %,d samples, %,d unsampled tokens, %d shards%n",
              e.getKey(),
              sp.documents(),
              sp.tokens(),
              sp.samples(),
              sp.unsampledTokens(),
              sp.shards().size()));
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "documents: %,d (+%,d empty, %,d rejected)%n",
            s.documents(),
            s.emptyDocuments(),
            s.rejectedDocuments()));
    sb.append(
        String.format(
            Locale.ROOT,
            "tokens: %,d (end-of-text included); text bytes: %,d; %.3f bytes/token; stored bytes: %,d%n",
            s.tokens(),
            s.textBytes(),
            s.bytesPerToken(),
            s.storedBytes()));
    sb.append(
        String.format(
            Locale.ROOT,
            "tokens per shard: min %,d, mean %,.0f, max %,d%n",
            s.minTokensPerShard(),
            s.meanTokensPerShard(),
            s.maxTokensPerShard()));
    sb.append(
        String.format(
            Locale.ROOT, "time: %.1f s, %,.0f tokens/s", s.seconds(), s.tokensPerSecond()));
    if (!sources.isEmpty()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%n%-40s %12s %15s %12s %9s %9s%n",
              "source",
              "documents",
              "tokens",
              "text MB",
              "% tokens",
              "rejected"));
      for (Map.Entry<String, Source> e : sources.entrySet()) {
        Source c = e.getValue();
        String name =
            e.getKey().length() > 40
                ? "..." + e.getKey().substring(e.getKey().length() - 37)
                : e.getKey();
        sb.append(
            String.format(
                Locale.ROOT,
                "%-40s %,12d %,15d %,12.2f %9.2f %,9d%n",
                name,
                c.documents(),
                c.tokens(),
                c.textBytes() / 1e6,
                s.tokens() == 0 ? 0 : 100.0 * c.tokens() / s.tokens(),
                c.rejectedDocuments()));
      }
    }
    return sb.toString().stripTrailing();
  }

  /** Every shard of every split, in split then sample order. */
  @JsonIgnore
  public List<Shard> allShards() {
    List<Shard> all = new ArrayList<>();
    splits.values().forEach(sp -> all.addAll(sp.shards()));
    return all;
  }
}
