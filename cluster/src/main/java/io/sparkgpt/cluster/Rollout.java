package io.sparkgpt.cluster;

import java.io.Serializable;

/**
 * One generated response and what PPO needs of it, computed on the executor that generated it.
 *
 * @param index the prompt's position in the prompt file's accepted examples
 * @param worker the task that generated it
 * @param prompt template-wrapped prompt tokens
 * @param response generated tokens, ending with end-of-text when the policy stopped by itself
 * @param logp log-probability of each response token under the sampling policy
 * @param refLogp the same under the frozen reference policy
 * @param values the value head's estimate before each response token
 * @param entropy the policy's next-token entropy before each response token
 * @param score the reward model's score of prompt + response (or the rule's)
 * @param genMs generation time of this response
 * @param scoreMs its share of the batched scoring time (policy, reference and reward forward
 *     passes)
 */
public final class Rollout implements Serializable {
  // a class, not a record: Spark's Kryo serializer (which carries collect() results) cannot build
  // records
  private static final long serialVersionUID = 1L;
  private final int index;
  private final int worker;
  private final int[] prompt;
  private final int[] response;
  private final float[] logp;
  private final float[] refLogp;
  private final float[] values;
  private final float[] entropy;
  private final double score;
  private final double genMs;
  private final double scoreMs;

  public Rollout(
      int index,
      int worker,
      int[] prompt,
      int[] response,
      float[] logp,
      float[] refLogp,
      float[] values,
      float[] entropy,
      double score,
      double genMs,
      double scoreMs) {
    this.index = index;
    this.worker = worker;
    this.prompt = prompt;
    this.response = response;
    this.logp = logp;
    this.refLogp = refLogp;
    this.values = values;
    this.entropy = entropy;
    this.score = score;
    this.genMs = genMs;
    this.scoreMs = scoreMs;
  }

  public int index() {
    return index;
  }

  public int worker() {
    return worker;
  }

  public int[] prompt() {
    return prompt;
  }

  public int[] response() {
    return response;
  }

  public float[] logp() {
    return logp;
  }

  public float[] refLogp() {
    return refLogp;
  }

  public float[] values() {
    return values;
  }

  public float[] entropy() {
    return entropy;
  }

  public double score() {
    return score;
  }

  public double genMs() {
    return genMs;
  }

  public double scoreMs() {
    return scoreMs;
  }

  /** Sum over the response of logp - refLogp: the sampled estimate of KL(policy || reference). */
  public double kl() {
    double s = 0;
    for (int j = 0; j < logp.length; j++) {
      s += logp[j] - refLogp[j];
    }
    return s;
  }
}
