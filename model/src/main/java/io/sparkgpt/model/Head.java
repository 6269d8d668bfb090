package io.sparkgpt.model;

import java.util.List;
import java.util.Locale;

/**
 * An extra scalar head on the GPT's final hidden states, beside the (tied) language-model head: a
 * linear map {@code d_model -> 1} stored as {@code <prefix>.weight [d, 1]} and {@code <prefix>.bias
 * [1]}.
 *
 * <ul>
 *   <li>{@link #NONE}: a plain language model (pretraining, SFT).
 *   <li>{@link #REWARD}: a reward model, {@code score.*}; the reward of a sequence is the score at
 *       its last real token.
 *   <li>{@link #VALUE}: a PPO policy with a value head, {@code v_head.*}: one value estimate per
 *       position.
 * </ul>
 *
 * A checkpoint records its head in {@code config.json} ({@code "sparkgpt_head"}); the backbone
 * tensors keep their {@code GPT2LMHeadModel} names either way.
 */
public enum Head {
  NONE(null),
  REWARD("score"),
  VALUE("v_head");

  private final String prefix;

  Head(String prefix) {
    this.prefix = prefix;
  }

  public String weight() {
    return prefix + ".weight";
  }

  public String bias() {
    return prefix + ".bias";
  }

  /**
   * The head's tensors (none for {@link #NONE}): weight normal(0, 0.02) with weight decay, bias
   * zero.
   */
  List<GptModel.ParamSpec> specs(GptConfig c) {
    if (this == NONE) {
      return List.of();
    }
    return List.of(
        new GptModel.ParamSpec(weight(), new long[] {c.dModel(), 1}, GptModel.Init.NORMAL, true),
        new GptModel.ParamSpec(bias(), new long[] {1}, GptModel.Init.ZEROS, false));
  }

  /** The name written to {@code config.json}. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Head of(String id) {
    for (Head h : values()) {
      if (h.id().equals(id)) {
        return h;
      }
    }
    throw new IllegalArgumentException("unknown head '" + id + "'");
  }
}
