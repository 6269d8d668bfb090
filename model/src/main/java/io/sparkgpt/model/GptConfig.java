package io.sparkgpt.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a GPT-2-style decoder. Immutable; {@link #validate()} is called by the constructor.
 *
 * @param vocabSize number of token ids (from the tokenizer)
 * @param blockSize context length T (learned position embeddings have this many rows)
 * @param dModel embedding width d
 * @param nLayer transformer blocks L
 * @param nHead attention heads H (d must be divisible by H)
 * @param mlpRatio MLP hidden width is mlpRatio * d (4 in GPT-2)
 * @param dropout dropout probability on embeddings, attention weights and residual branches (0 =
 *     off)
 * @param bias biases in the linear layers and LayerNorms (GPT-2: true)
 * @param tied output head shares the token embedding matrix (GPT-2: true)
 * @param dtype {@code float32} or {@code float64} (the latter for gradient checks)
 */
public record GptConfig(
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("block_size") int blockSize,
    @JsonProperty("d_model") int dModel,
    @JsonProperty("n_layer") int nLayer,
    @JsonProperty("n_head") int nHead,
    @JsonProperty("mlp_ratio") int mlpRatio,
    @JsonProperty("dropout") double dropout,
    @JsonProperty("bias") boolean bias,
    @JsonProperty("tied") boolean tied,
    @JsonProperty("dtype") String dtype) {

  /** LayerNorm epsilon, as in GPT-2 ({@code layer_norm_epsilon}). */
  public static final double LN_EPS = 1e-5;

  public static final List<String> PRESETS = List.of("tiny", "small", "gpt2-124m");

  public GptConfig {
    dtype = dtype == null ? "float32" : dtype.toLowerCase(Locale.ROOT);
    validate(vocabSize, blockSize, dModel, nLayer, nHead, mlpRatio, dropout, dtype);
  }

  /**
   * A named preset with the tokenizer's vocabulary: {@code tiny} (T=128, d=128, L=4, H=4), {@code
   * small} (T=256, d=256, L=6, H=8), {@code gpt2-124m} (T=1024, d=768, L=12, H=12); MLP ratio 4, no
   * dropout, biases, tied embeddings, float32.
   */
  public static GptConfig preset(String name, int vocabSize) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "tiny" -> new GptConfig(vocabSize, 128, 128, 4, 4, 4, 0.0, true, true, "float32");
      case "small" -> new GptConfig(vocabSize, 256, 256, 6, 8, 4, 0.0, true, true, "float32");
      case "gpt2-124m", "gpt2" ->
          new GptConfig(vocabSize, 1024, 768, 12, 12, 4, 0.0, true, true, "float32");
      default ->
          throw new IllegalArgumentException(
              "unknown model preset '" + name + "' (known: " + PRESETS + ")");
    };
  }

  public GptConfig withVocab(int v) {
    return new GptConfig(v, blockSize, dModel, nLayer, nHead, mlpRatio, dropout, bias, tied, dtype);
  }

  public GptConfig withBlockSize(int t) {
    return new GptConfig(vocabSize, t, dModel, nLayer, nHead, mlpRatio, dropout, bias, tied, dtype);
  }

  public GptConfig withDropout(double p) {
    return new GptConfig(
        vocabSize, blockSize, dModel, nLayer, nHead, mlpRatio, p, bias, tied, dtype);
  }

  public int headSize() {
    return dModel / nHead;
  }

  public int mlpWidth() {
    return mlpRatio * dModel;
  }

  public org.nd4j.linalg.api.buffer.DataType nd4jType() {
    return dtype.equals("float64")
        ? org.nd4j.linalg.api.buffer.DataType.DOUBLE
        : org.nd4j.linalg.api.buffer.DataType.FLOAT;
  }

  /** Trainable parameters (the tied head counted once). */
  public long parameterCount() {
    long d = dModel;
    long perLayer =
        4 * d * d
            + 2L * d * mlpWidth()
            + (bias ? 3 * d + d + mlpWidth() + d : 0)
            + 2 * d
            + (bias ? 2 * d : 0);
    return (long) vocabSize * d
        + (long) blockSize * d
        + nLayer * perLayer
        + d
        + (bias ? d : 0)
        + (tied ? 0 : (long) vocabSize * d);
  }

  /**
   * Model FLOPs of one training step per token (forward + backward = 3x forward, PaLM appendix B
   * convention): {@code 6 * N_matmul + 12 * L * T * d} where N_matmul counts the weights used in
   * matrix products (blocks and the output head; the embedding lookup is not a product).
   */
  public double trainFlopsPerToken(int seqLen) {
    double d = dModel;
    double blocks = nLayer * (4 * d * d + 2 * d * mlpWidth());
    double head = (double) vocabSize * d;
    return 6 * (blocks + head) + 12.0 * nLayer * seqLen * d;
  }

  private static void validate(int v, int t, int d, int l, int h, int r, double p, String dt) {
    if (v < 2) {
      throw new IllegalArgumentException("vocab_size must be at least 2, got " + v);
    }
    if (t < 1 || d < 1 || l < 1 || h < 1 || r < 1) {
      throw new IllegalArgumentException(
          "block_size, d_model, n_layer, n_head and mlp_ratio must be positive");
    }
    if (d % h != 0) {
      throw new IllegalArgumentException("d_model " + d + " is not divisible by n_head " + h);
    }
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("dropout must be in [0, 1), got " + p);
    }
    if (!dt.equals("float32") && !dt.equals("float64")) {
      throw new IllegalArgumentException("dtype must be float32 or float64, got " + dt);
    }
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "GptConfig[V=%d, T=%d, d=%d, L=%d, H=%d, mlp=%dx, dropout=%s, bias=%s, tied=%s, %s, %,d params]",
        vocabSize,
        blockSize,
        dModel,
        nLayer,
        nHead,
        mlpRatio,
        dropout,
        bias,
        tied,
        dtype,
        parameterCount());
  }
}
