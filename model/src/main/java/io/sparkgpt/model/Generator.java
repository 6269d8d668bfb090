package io.sparkgpt.model;

import io.sparkgpt.tokenizer.TokenDecoder;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Text generation from a checkpoint: greedy ({@code temperature = 0}) or sampled (temperature,
 * top-k, top-p) decoding with a key/value cache ({@link Decoder}), stopping at the tokenizer's
 * end-of-text or after {@code maxNewTokens}.
 *
 * <pre>{@code
 * Checkpoint ckpt = Checkpoint.load(Path.of("runs/tiny/checkpoint"), false);
 * Generator.Result r = Generator.generate(ckpt, "ROMEO:", new Generator.Sampling(200, 0.8, 40, 0.95, 42, true));
 * System.out.println(r.text());
 * }</pre>
 *
 * When the context reaches the block size, the last {@code blockSize / 2} tokens are kept and
 * re-encoded (one prefill), then decoding continues with the cache.
 */
public final class Generator {

  /**
   * @param maxNewTokens at most this many tokens are generated
   * @param temperature 0 = greedy (argmax); otherwise logits are divided by it before sampling
   * @param topK keep only the k most likely tokens (0 = off)
   * @param topP nucleus: keep the smallest set of most likely tokens whose probability reaches p (1
   *     = off)
   * @param seed sampling seed
   * @param useCache key/value cache (false recomputes the whole context for every token)
   */
  public record Sampling(
      int maxNewTokens, double temperature, int topK, double topP, long seed, boolean useCache) {
    public Sampling {
      if (maxNewTokens < 0 || temperature < 0 || topK < 0 || !(topP > 0 && topP <= 1)) {
        throw new IllegalArgumentException(
            "need max_new_tokens >= 0, temperature >= 0, top_k >= 0, 0 < top_p <= 1");
      }
    }

    public static Sampling greedy(int maxNewTokens) {
      return new Sampling(maxNewTokens, 0, 0, 1, 0, true);
    }
  }

  /**
   * @param text the generated text (the prompt not included)
   * @param ids the generated token ids (end-of-text not included)
   * @param stopReason {@code eot} or {@code max_new_tokens}
   * @param prefillMs time to encode the prompt
   * @param msPerToken mean time per generated token after the prompt
   */
  public record Result(
      String text,
      int[] promptIds,
      int[] ids,
      String stopReason,
      double prefillMs,
      double msPerToken) {}

  private Generator() {}

  /** Generates with the checkpoint's own tokenizer. */
  public static Result generate(Checkpoint ckpt, String prompt, Sampling s) throws IOException {
    return generate(ckpt, prompt, s, null);
  }

  /** As above; {@code onText} receives the text as it is produced (whole UTF-8 characters only). */
  public static Result generate(Checkpoint ckpt, String prompt, Sampling s, Consumer<String> onText)
      throws IOException {
    try (Tokenizer tok = ckpt.tokenizer()) {
      return generate(ckpt.config(), ckpt.backbone(), tok, prompt, s, onText);
    }
  }

  public static Result generate(
      GptConfig cfg,
      Map<String, INDArray> params,
      Tokenizer tok,
      String prompt,
      Sampling s,
      Consumer<String> onText) {
    int[] promptIds = tok.encode(prompt);
    if (promptIds.length == 0) {
      promptIds = new int[] {tok.endOfTextId() >= 0 ? tok.endOfTextId() : 0};
    }
    Tokens out = generateIds(cfg, params, promptIds, s, tok.endOfTextId());
    TokenDecoder dec = new TokenDecoder(tok);
    StringBuilder text = new StringBuilder();
    for (int id : out.ids()) {
      String piece = dec.push(id);
      text.append(piece);
      if (onText != null && !piece.isEmpty()) {
        onText.accept(piece);
      }
    }
    String tail = dec.flush();
    text.append(tail);
    if (onText != null && !tail.isEmpty()) {
      onText.accept(tail);
    }
    return new Result(
        text.toString(),
        promptIds,
        out.ids(),
        out.eot() ? "eot" : "max_new_tokens",
        out.prefillMs(),
        out.msPerToken());
  }

  /** Generated ids (end-of-text not included), whether end-of-text stopped it, and timings. */
  public record Tokens(int[] ids, boolean eot, double prefillMs, double msPerToken) {}

  /** Token-level generation from prompt ids. */
  public static Tokens generateIds(
      GptConfig cfg, Map<String, INDArray> params, int[] prompt, Sampling s, int eot) {
    Decoder dec = new Decoder(cfg, params, s.useCache());
    Random rng = new Random(s.seed());
    int[] ctx =
        prompt.length > cfg.blockSize()
            ? Arrays.copyOfRange(prompt, prompt.length - cfg.blockSize(), prompt.length)
            : prompt;
    long t0 = System.nanoTime();
    INDArray logits = dec.forward(ctx);
    double prefillMs = (System.nanoTime() - t0) / 1e6;
    int[] all = Arrays.copyOf(ctx, ctx.length + s.maxNewTokens());
    int len = ctx.length;
    int[] gen = new int[s.maxNewTokens()];
    int n = 0;
    boolean eotStop = false;
    long t1 = System.nanoTime();
    try (Decoder.BlasThreads oneThread = Decoder.oneBlasThread(cfg)) {
      while (n < s.maxNewTokens()) {
        int next = pick(logits.toDoubleVector(), s, rng);
        if (next == eot) {
          eotStop = true;
          break;
        }
        gen[n++] = next;
        all[len++] = next;
        if (n == s.maxNewTokens()) {
          break;
        }
        if (dec.length() + 1 > cfg.blockSize()) {
          int keep = Math.max(1, cfg.blockSize() / 2);
          dec.reset();
          logits = dec.forward(Arrays.copyOfRange(all, len - keep, len));
        } else {
          logits = dec.forward(new int[] {next});
        }
      }
    }
    double perToken = n == 0 ? 0 : (System.nanoTime() - t1) / 1e6 / n;
    return new Tokens(Arrays.copyOf(gen, n), eotStop, prefillMs, perToken);
  }

  /** Greedy, or temperature + top-k + top-p sampling, from one row of logits. */
  static int pick(double[] logits, Sampling s, Random rng) {
    if (s.temperature() == 0) {
      int best = 0;
      for (int i = 1; i < logits.length; i++) {
        if (logits[i] > logits[best]) {
          best = i;
        }
      }
      return best;
    }
    int v = logits.length;
    Integer[] order = new Integer[v];
    for (int i = 0; i < v; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(logits[b], logits[a]));
    int keep = s.topK() > 0 ? Math.min(s.topK(), v) : v;
    double max = logits[order[0]];
    double[] prob = new double[keep];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      prob[i] = Math.exp((logits[order[i]] - max) / s.temperature());
      sum += prob[i];
    }
    if (s.topP() < 1) {
      double cum = 0;
      int cut = keep;
      for (int i = 0; i < keep; i++) {
        cum += prob[i] / sum;
        if (cum >= s.topP()) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
      sum = 0;
      for (int i = 0; i < keep; i++) {
        sum += prob[i];
      }
    }
    double r = rng.nextDouble() * sum;
    for (int i = 0; i < keep; i++) {
      r -= prob[i];
      if (r <= 0) {
        return order[i];
      }
    }
    return order[keep - 1];
  }
}
