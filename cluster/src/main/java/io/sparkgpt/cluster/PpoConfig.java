package io.sparkgpt.cluster;

import java.io.Serializable;

/**
 * Everything a PPO run needs besides the models and prompts.
 *
 * @param iterations PPO iterations (rollouts + update) of the whole run
 * @param promptsPerIteration prompts rolled out per iteration, split over the workers
 * @param workers Spark tasks generating rollouts and running the update
 * @param threadsPerTask ND4J threads per task
 * @param maxPromptTokens template-wrapped prompt tokens at most (longer prompts are rejected by the
 *     command)
 * @param maxNewTokens generated tokens per response at most (end-of-text included)
 * @param temperature sampling temperature of the rollouts
 * @param ppoEpochs passes over each iteration's rollouts
 * @param miniBatch rollouts per optimizer step
 * @param lr AdamW learning rate (constant)
 * @param gradClip global gradient norm clip (0 = off)
 * @param gamma discount
 * @param lambda GAE lambda
 * @param clipRange policy ratio clip epsilon
 * @param valueClip value clip range
 * @param valueCoef value loss coefficient
 * @param entropyCoef entropy bonus coefficient
 * @param klCoef initial KL penalty coefficient beta
 * @param klTarget adaptive controller's target KL per response (nats); null = fixed coefficient
 * @param klHorizon adaptive controller's horizon (responses)
 * @param seed prompt order, sampling and value-head seed
 * @param samplesPerIteration generations per iteration written to samples.jsonl
 * @param checkpointEvery checkpoint every this many iterations (and at the end)
 * @param resume continue from RUN_DIR/checkpoint when it exists
 * @param allowConfigChange resume even when other settings differ from the checkpoint's (recorded
 *     in metrics)
 */
public record PpoConfig(
    int iterations,
    int promptsPerIteration,
    int workers,
    int threadsPerTask,
    int maxPromptTokens,
    int maxNewTokens,
    double temperature,
    int ppoEpochs,
    int miniBatch,
    double lr,
    double gradClip,
    double gamma,
    double lambda,
    double clipRange,
    double valueClip,
    double valueCoef,
    double entropyCoef,
    double klCoef,
    Double klTarget,
    double klHorizon,
    long seed,
    int samplesPerIteration,
    int checkpointEvery,
    boolean resume,
    boolean allowConfigChange)
    implements Serializable {
  public PpoConfig {
    if (iterations < 1
        || promptsPerIteration < 1
        || workers < 1
        || threadsPerTask < 1
        || maxPromptTokens < 1
        || maxNewTokens < 1
        || ppoEpochs < 1
        || miniBatch < 1
        || checkpointEvery < 0
        || samplesPerIteration < 0) {
      throw new IllegalArgumentException(
          "iterations, prompts per iteration, workers, threads, max prompt and new "
              + "tokens, PPO epochs and mini-batch must be positive");
    }
    if (!(lr > 0
            && temperature > 0
            && gamma > 0
            && gamma <= 1
            && lambda >= 0
            && lambda <= 1
            && klCoef >= 0
            && klHorizon > 0)
        || (klTarget != null && !(klTarget > 0))) {
      throw new IllegalArgumentException(
          "need lr > 0, temperature > 0, 0 < gamma <= 1, 0 <= lambda <= 1, "
              + "kl coefficient >= 0, kl target > 0 and kl horizon > 0");
    }
    if (miniBatch < workers) {
      throw new IllegalArgumentException(
          "the update on "
              + workers
              + " workers splits each mini-batch over them: "
              + "mini-batch "
              + miniBatch
              + " must be at least the number of workers");
    }
  }

  /**
   * Rollout rows hold the prompt, the response and an end-of-text appended for the reward model.
   */
  public int seqLen() {
    return maxPromptTokens + maxNewTokens + 1;
  }
}
