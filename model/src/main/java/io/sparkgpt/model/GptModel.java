package io.sparkgpt.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The GPT's parameters: the one place their names, shapes, initialisation and weight-decay rules
 * are defined. Names and layouts are HuggingFace {@code GPT2LMHeadModel}'s (see {@link
 * #paramSpecs}): linear weights are stored {@code [in, out]} like GPT-2's {@code Conv1D}, so {@code
 * y = x @ W + b} with no transpose; a scalar {@link Head} (reward, value) adds its two tensors. The
 * model itself (forward, backward, every objective, generation) is {@link Gpt}, which the
 * deeplearning4j layer of {@code pretrain --engine dl4j-spark} also runs.
 */
public final class GptModel {
  public static final String WTE = "transformer.wte.weight";
  public static final String WPE = "transformer.wpe.weight";
  public static final String LN_F_W = "transformer.ln_f.weight";
  public static final String LN_F_B = "transformer.ln_f.bias";
  public static final String LM_HEAD = "lm_head.weight";

  /** How a parameter is initialised and whether weight decay applies to it. */
  public enum Init {
    NORMAL,
    RESIDUAL,
    ZEROS,
    ONES
  }

  /**
   * One parameter: HF name, shape, initialisation, weight decay (true only for matrices used in
   * products).
   */
  public record ParamSpec(String name, long[] shape, Init init, boolean decay) {}

  private GptModel() {}

  /** Backbone parameters and those of {@code head}, in canonical order. */
  public static List<ParamSpec> paramSpecs(GptConfig c, Head head) {
    List<ParamSpec> s = new ArrayList<>(paramSpecs(c));
    s.addAll(head.specs(c));
    return Collections.unmodifiableList(s);
  }

  /** Parameters in canonical order with HF names, shapes and init/decay rules. */
  public static List<ParamSpec> paramSpecs(GptConfig c) {
    long d = c.dModel(), m = c.mlpWidth();
    List<ParamSpec> s = new ArrayList<>();
    s.add(new ParamSpec(WTE, new long[] {c.vocabSize(), d}, Init.NORMAL, false));
    s.add(new ParamSpec(WPE, new long[] {c.blockSize(), d}, Init.NORMAL, false));
    for (int i = 0; i < c.nLayer(); i++) {
      String p = "transformer.h." + i + ".";
      s.add(new ParamSpec(p + "ln_1.weight", new long[] {d}, Init.ONES, false));
      if (c.bias()) {
        s.add(new ParamSpec(p + "ln_1.bias", new long[] {d}, Init.ZEROS, false));
      }
      s.add(new ParamSpec(p + "attn.c_attn.weight", new long[] {d, 3 * d}, Init.NORMAL, true));
      if (c.bias()) {
        s.add(new ParamSpec(p + "attn.c_attn.bias", new long[] {3 * d}, Init.ZEROS, false));
      }
      s.add(new ParamSpec(p + "attn.c_proj.weight", new long[] {d, d}, Init.RESIDUAL, true));
      if (c.bias()) {
        s.add(new ParamSpec(p + "attn.c_proj.bias", new long[] {d}, Init.ZEROS, false));
      }
      s.add(new ParamSpec(p + "ln_2.weight", new long[] {d}, Init.ONES, false));
      if (c.bias()) {
        s.add(new ParamSpec(p + "ln_2.bias", new long[] {d}, Init.ZEROS, false));
      }
      s.add(new ParamSpec(p + "mlp.c_fc.weight", new long[] {d, m}, Init.NORMAL, true));
      if (c.bias()) {
        s.add(new ParamSpec(p + "mlp.c_fc.bias", new long[] {m}, Init.ZEROS, false));
      }
      s.add(new ParamSpec(p + "mlp.c_proj.weight", new long[] {m, d}, Init.RESIDUAL, true));
      if (c.bias()) {
        s.add(new ParamSpec(p + "mlp.c_proj.bias", new long[] {d}, Init.ZEROS, false));
      }
    }
    s.add(new ParamSpec(LN_F_W, new long[] {d}, Init.ONES, false));
    if (c.bias()) {
      s.add(new ParamSpec(LN_F_B, new long[] {d}, Init.ZEROS, false));
    }
    if (!c.tied()) {
      s.add(new ParamSpec(LM_HEAD, new long[] {c.vocabSize(), d}, Init.NORMAL, true));
    }
    return Collections.unmodifiableList(s);
  }

  /**
   * GPT-2 initialisation: weights and embeddings normal(0, 0.02), residual projections ({@code
   * c_proj}) normal(0, 0.02 / sqrt(2L)), biases 0, LayerNorm gains 1. Deterministic in {@code seed}
   * (java.util.Random per tensor, seeded from the seed and the tensor's index).
   */
  public static Map<String, INDArray> initParams(GptConfig c, long seed) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    SplittableRandom seeds = new SplittableRandom(seed);
    for (ParamSpec s : paramSpecs(c)) {
      out.put(s.name(), init(c, s, seeds.nextLong()));
    }
    return out;
  }

  /**
   * Copies of {@code backbone}'s tensors (a language model's parameters) plus freshly initialised
   * tensors of {@code head} (the start of a reward model or of a PPO policy's value head).
   */
  public static Map<String, INDArray> withNewHead(
      GptConfig c, Map<String, INDArray> backbone, Head head, long seed) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (ParamSpec s : paramSpecs(c)) {
      out.put(s.name(), backbone.get(s.name()).dup());
    }
    SplittableRandom seeds = new SplittableRandom(seed);
    for (ParamSpec s : head.specs(c)) {
      out.put(s.name(), init(c, s, seeds.nextLong()));
    }
    checkParams(c, head, out);
    return out;
  }

  /**
   * The backbone's tensors of {@code params} (same arrays), without any head: what generation
   * needs.
   */
  public static Map<String, INDArray> backbone(GptConfig c, Map<String, INDArray> params) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (ParamSpec s : paramSpecs(c)) {
      out.put(s.name(), params.get(s.name()));
    }
    return out;
  }

  private static INDArray init(GptConfig c, ParamSpec s, long seedForTensor) {
    DataType dt = c.nd4jType();
    return switch (s.init()) {
      case ZEROS -> Nd4j.zeros(dt, s.shape());
      case ONES -> Nd4j.ones(dt, s.shape());
      default -> {
        double std = s.init() == Init.RESIDUAL ? 0.02 / Math.sqrt(2.0 * c.nLayer()) : 0.02;
        Random r = new Random(seedForTensor);
        long n = 1;
        for (long x : s.shape()) {
          n *= x;
        }
        double[] v = new double[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
          v[i] = r.nextGaussian() * std;
        }
        yield Nd4j.create(v, s.shape(), 'c').castTo(dt);
      }
    };
  }

  /** Checks names, shapes and dtypes against the config. */
  public static void checkParams(GptConfig cfg, Map<String, INDArray> params) {
    checkParams(cfg, Head.NONE, params);
  }

  /** Checks names, shapes and dtypes of the backbone and {@code head}'s tensors. */
  public static void checkParams(GptConfig cfg, Head head, Map<String, INDArray> params) {
    List<ParamSpec> specs = paramSpecs(cfg, head);
    for (ParamSpec s : specs) {
      INDArray a = params.get(s.name());
      if (a == null) {
        throw new IllegalArgumentException("parameter " + s.name() + " is missing");
      }
      if (!java.util.Arrays.equals(a.shape(), s.shape())) {
        throw new IllegalArgumentException(
            "parameter "
                + s.name()
                + " has shape "
                + java.util.Arrays.toString(a.shape())
                + ", the config needs "
                + java.util.Arrays.toString(s.shape()));
      }
      if (a.dataType() != cfg.nd4jType()) {
        throw new IllegalArgumentException(
            "parameter " + s.name() + " is " + a.dataType() + ", the config says " + cfg.dtype());
      }
    }
    if (params.size() != specs.size()) {
      List<String> extra = new ArrayList<>(params.keySet());
      specs.forEach(s -> extra.remove(s.name()));
      throw new IllegalArgumentException("unexpected parameters " + extra);
    }
  }
}
