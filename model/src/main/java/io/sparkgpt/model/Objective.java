package io.sparkgpt.model;

import java.io.Serializable;

/**
 * What {@link Gpt} computes a loss for. Every objective normalises its loss by "loss units" of the whole
 * (accumulated) step, so micro-batch gradients add up to the gradient of the step's mean ({@link Gpt#lossUnits}).
 * <ul>
 *   <li>{@link Kind#LM}: next-token cross-entropy weighted by {@link Batch#mask()}; units: unmasked tokens.
 *       Pretraining, and SFT (whose mask is 1 only on completion tokens).</li>
 *   <li>{@link Kind#PAIRWISE_REWARD}: a batch of {@code 2P} rows, rows {@code 0..P-1} "chosen" and {@code P..2P-1}
 *       the matching "rejected"; each row's {@link Batch#mask()} is one-hot at the input position whose score is the
 *       sequence's reward (its last real token). Loss {@code -log sigmoid(r_chosen - r_rejected)} per pair; units:
 *       pairs.</li>
 *   <li>{@link Kind#PPO}: clipped policy loss {@code max(-A r, -A clip(r, 1-e, 1+e))} with {@code r = exp(logp -
 *       old_logp)}, plus {@code valueCoef} times the clipped value loss {@code 0.5 max((v-R)^2, (v_clip-R)^2)},
 *       {@code v_clip = old_v + clip(v - old_v, -valueClip, valueClip)}, minus {@code entropyCoef} times the
 *       entropy, on the positions where the mask is 1 (response tokens); units: those tokens. Needs
 *       {@link Batch#ppo()}.</li>
 * </ul>
 */
public record Objective(Kind kind, double clipRange, double valueClip, double valueCoef, double entropyCoef)
        implements Serializable {

    public enum Kind { LM, PAIRWISE_REWARD, PPO }

    public Objective {
        if (kind == Kind.PPO && !(clipRange > 0 && valueClip > 0 && valueCoef >= 0 && entropyCoef >= 0)) {
            throw new IllegalArgumentException("PPO needs clip range > 0, value clip > 0, value and entropy coefficients >= 0");
        }
    }

    public static Objective lm() {
        return new Objective(Kind.LM, 0, 0, 0, 0);
    }

    public static Objective pairwiseReward() {
        return new Objective(Kind.PAIRWISE_REWARD, 0, 0, 0, 0);
    }

    public static Objective ppo(double clipRange, double valueClip, double valueCoef, double entropyCoef) {
        return new Objective(Kind.PPO, clipRange, valueClip, valueCoef, entropyCoef);
    }

    /** The extra head the objective's parameters include. */
    public Head head() {
        return switch (kind) {
            case LM -> Head.NONE;
            case PAIRWISE_REWARD -> Head.REWARD;
            case PPO -> Head.VALUE;
        };
    }
}
