package io.sparkgpt.model;

/**
 * Linear warm-up then cosine decay (nanoGPT's {@code get_lr}): for step {@code s} (0-based, the
 * step about to be taken)
 *
 * <pre>
 *   s &lt; warmup:          lr = maxLr * (s + 1) / warmup
 *   warmup &lt;= s &lt;= decay: lr = minLr + 0.5 * (1 + cos(pi * (s - warmup) / (decay - warmup))) * (maxLr - minLr)
 *   s &gt; decay:           lr = minLr
 * </pre>
 */
public record LrSchedule(double maxLr, double minLr, long warmupSteps, long decaySteps) {

  public LrSchedule {
    if (maxLr < 0 || minLr < 0 || minLr > maxLr) {
      throw new IllegalArgumentException(
          "need 0 <= min_lr <= max_lr, got " + minLr + " and " + maxLr);
    }
    if (warmupSteps < 0 || decaySteps < warmupSteps) {
      throw new IllegalArgumentException(
          "need 0 <= warmup <= decay steps, got " + warmupSteps + " and " + decaySteps);
    }
  }

  public static LrSchedule constant(double lr) {
    return new LrSchedule(lr, lr, 0, 0);
  }

  public double lr(long step) {
    if (step < warmupSteps) {
      return maxLr * (step + 1) / warmupSteps;
    }
    if (step > decaySteps || decaySteps == warmupSteps) {
      return step > decaySteps ? minLr : maxLr;
    }
    double ratio = (double) (step - warmupSteps) / (decaySteps - warmupSteps);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (maxLr - minLr);
  }
}
