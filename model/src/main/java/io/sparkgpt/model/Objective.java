package io.sparkgpt.model;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link Gpt} computes a loss for. Every objective normalises its loss by "loss units" of the
 * whole (accumulated) step, so micro-batch gradients add up to the gradient of the step's mean
 * ({@link Gpt#lossUnits}).
 *
 * <ul>
 *   <li>{@link Kind#LM}: next-token cross-entropy weighted by {@link Batch#mask()}; units: unmasked
 *       tokens. Pretraining, and SFT (whose mask is 1 only on completion tokens).
 *   <li>{@link Kind#PAIRWISE_REWARD}: a batch of {@code 2P} rows, rows {@code 0..P-1} "chosen" and
 *       {@code P..2P-1} the matching "rejected"; each row's {@link Batch#mask()} is one-hot at the
 *       input position whose score is the sequence's reward (its last real token). Loss {@code -log
 *       sigmoid(r_chosen - r_rejected)} per pair; units: pairs.
 *   <li>{@link Kind#PPO}: clipped policy loss {@code max(-A r, -A clip(r, 1-e, 1+e))} with {@code r
 *       = exp(logp - old_logp)}, plus {@code valueCoef} times the clipped value loss {@code 0.5
 *       max((v-R)^2, (v_clip-R)^2)}, {@code v_clip = old_v + clip(v - old_v, -valueClip,
 *       valueClip)}, minus {@code entropyCoef} times the entropy, on the positions where the mask
 *       is 1 (response tokens); units: those tokens. Needs {@link Batch#ppo()}.
 *   <li>{@link Kind#DPO} (Direct Preference Optimization, Rafailov et al. 2023): a batch of {@code
 *       2P} rows laid out as the reward model's (chosen, then the matching rejected), the mask 1 on
 *       the completion tokens. With the sequence log-probability {@code pi = sum_t mask_t log
 *       p(target_t)} and the frozen reference model's {@link Batch#referenceLogps()} {@code ref},
 *       loss {@code -log sigmoid(beta ((pi_c - ref_c) - (pi_r - ref_r)))} per pair; units: pairs.
 *       {@code beta (pi - ref)} is the row's implicit reward.
 * </ul>
 */
public record Objective(
    Kind kind,
    double clipRange,
    double valueClip,
    double valueCoef,
    double entropyCoef,
    double beta)
    implements Serializable {

  public enum Kind {
    LM,
    PAIRWISE_REWARD,
    PPO,
    DPO
  }

  public Objective {
    if (kind == Kind.PPO
        && !(clipRange > 0 && valueClip > 0 && valueCoef >= 0 && entropyCoef >= 0)) {
      throw new IllegalArgumentException(
          "PPO needs clip range > 0, value clip > 0, value and entropy coefficients >= 0");
    }
    if (kind == Kind.DPO && !(beta > 0 && Double.isFinite(beta))) {
      throw new IllegalArgumentException("DPO needs beta > 0, not " + beta);
    }
  }

  public static Objective lm() {
    return new Objective(Kind.LM, 0, 0, 0, 0, 0);
  }

  public static Objective pairwiseReward() {
    return new Objective(Kind.PAIRWISE_REWARD, 0, 0, 0, 0, 0);
  }

  public static Objective ppo(
      double clipRange, double valueClip, double valueCoef, double entropyCoef) {
    return new Objective(Kind.PPO, clipRange, valueClip, valueCoef, entropyCoef, 0);
  }

  public static Objective dpo(double beta) {
    return new Objective(Kind.DPO, 0, 0, 0, 0, beta);
  }

  /**
   * Whether a batch of this objective holds chosen/rejected pairs, and its loss units are pairs.
   */
  public boolean pairwise() {
    return kind == Kind.PAIRWISE_REWARD || kind == Kind.DPO;
  }

  /**
   * The objective as recorded with a run's training settings, which a resumed run must keep: {@code
   * objective} (its kind in lower case) and, for DPO, {@code dpo_beta}.
   */
  public Map<String, Object> settings() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("objective", kind.name().toLowerCase(Locale.ROOT));
    if (kind == Kind.DPO) {
      out.put("dpo_beta", beta);
    }
    return out;
  }

  /** The extra head the objective's parameters include. */
  public Head head() {
    return switch (kind) {
      case LM, DPO -> Head.NONE;
      case PAIRWISE_REWARD -> Head.REWARD;
      case PPO -> Head.VALUE;
    };
  }
}
