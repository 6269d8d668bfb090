package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.Serializable;
import java.util.Objects;

/**
 * Everything that decides the bytes of a shard apart from its documents; serializable, for Spark
 * closures. Every shard records the layout it was written with; a rerun reuses a finished shard
 * only when its layout equals the rerun's, and {@link DatasetWriter#finish} refuses shards of
 * different layouts.
 *
 * @param tokenizerSha256 sha256 of the tokenizer copy in the dataset ({@link
 *     DatasetWriter#writeTokenizer})
 * @param jobKey opaque string from the job naming every other parameter that changes which
 *     documents go to which shard, in which order (input, seed, validation fraction, shard counts,
 *     ...); "" if none
 */
public record Layout(
    @JsonProperty("format") Format format,
    @JsonProperty("dtype") Dtype dtype,
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("eot_id") int eotId,
    @JsonProperty("seq_len") int seqLen,
    @JsonProperty("tokenizer_sha256") String tokenizerSha256,
    @JsonProperty("job_key") String jobKey)
    implements Serializable {

  public Layout {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(dtype, "dtype");
    tokenizerSha256 = tokenizerSha256 == null ? "" : tokenizerSha256;
    jobKey = jobKey == null ? "" : jobKey;
    if (vocabSize <= 0) {
      throw new IllegalArgumentException("vocab_size must be positive, got " + vocabSize);
    }
    if (eotId < 0 || eotId >= vocabSize) {
      throw new IllegalArgumentException(
          "eot_id " + eotId + " is not an id of a vocabulary of " + vocabSize);
    }
    if (seqLen < 1 || seqLen >= Integer.MAX_VALUE / 8) {
      throw new IllegalArgumentException(
          "seq_len must be in [1, " + (Integer.MAX_VALUE / 8) + "), got " + seqLen);
    }
    if (format == Format.NATIVE && dtype == Dtype.INT32
        || format == Format.MEGATRON && dtype == Dtype.UINT32) {
      throw new IllegalArgumentException(
          "dtype " + dtype.id() + " is not used by the " + format.id() + " format");
    }
    if (dtype == Dtype.UINT16 && vocabSize > 1 << 16) {
      throw new IllegalArgumentException(
          "dtype uint16 cannot hold the ids of a vocabulary of " + vocabSize);
    }
  }

  /**
   * The layout for {@code tokenizer}: its vocabulary size and end-of-text id, the narrowest dtype.
   *
   * @throws IllegalArgumentException if the tokenizer has no end-of-text token
   */
  public static Layout of(
      Format format, Tokenizer tokenizer, int seqLen, String tokenizerSha256, String jobKey) {
    if (tokenizer.endOfTextId() < 0) {
      throw new IllegalArgumentException(
          "tokenizer " + tokenizer.name() + " has no end-of-text token to separate documents");
    }
    return new Layout(
        format,
        Dtype.forVocab(format, tokenizer.vocabSize()),
        tokenizer.vocabSize(),
        tokenizer.endOfTextId(),
        seqLen,
        tokenizerSha256,
        jobKey);
  }

  /**
   * Tokens per training sample: {@code seq_len + 1} (inputs are the first seq_len, targets the last
   * seq_len).
   */
  @JsonIgnore
  public int sampleTokens() {
    return seqLen + 1;
  }
}
