package io.sparkgpt.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.Objective;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;

/**
 * How rollouts are scored on the executors: a reward model (its score of template prompt + response
 * + end-of-text, read at the end-of-text, as {@code train-reward} trained it) or a rule, the number
 * of times a target token occurs in the response (for tests and demonstrations).
 */
public final class RolloutReward implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final int ruleToken;
  private final String modelConfigJson;
  private final Broadcast<TrainState> modelWeights;

  private RolloutReward(int ruleToken, String modelConfigJson, Broadcast<TrainState> modelWeights) {
    this.ruleToken = ruleToken;
    this.modelConfigJson = modelConfigJson;
    this.modelWeights = modelWeights;
  }

  public static RolloutReward tokenCount(int tokenId) {
    return new RolloutReward(tokenId, null, null);
  }

  /**
   * A reward model with config {@code cfg} whose parameters (with the reward head) were broadcast.
   */
  public static RolloutReward model(GptConfig cfg, Broadcast<TrainState> weights) {
    try {
      return new RolloutReward(-1, JSON.writeValueAsString(cfg), weights);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Scores of the responses to the prompts (one batch), {@code seqLen} as in {@link
   * PpoConfig#seqLen()}.
   */
  double[] score(List<int[]> prompts, List<int[]> responses, int seqLen, int eot) {
    double[] out = new double[responses.size()];
    if (modelWeights == null) {
      for (int i = 0; i < out.length; i++) {
        for (int id : responses.get(i)) {
          out[i] += id == ruleToken ? 1 : 0;
        }
      }
      return out;
    }
    GptConfig cfg;
    try {
      cfg = JSON.readValue(modelConfigJson, GptConfig.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int b = out.length;
    int[][] tokens = new int[b][seqLen + 1];
    float[][] readAt = new float[b][seqLen];
    for (int i = 0; i < b; i++) {
      int[] p = prompts.get(i);
      int[] r = responses.get(i);
      boolean ended = r.length > 0 && r[r.length - 1] == eot;
      int len = p.length + r.length + (ended ? 0 : 1);
      Arrays.fill(tokens[i], eot);
      System.arraycopy(p, 0, tokens[i], 0, p.length);
      System.arraycopy(r, 0, tokens[i], p.length, r.length);
      readAt[i][len - 1] =
          1; // the end-of-text (appended when the response was cut at the length limit)
    }
    ExecutorModels.Loaded rm =
        ExecutorModels.borrow(cfg, seqLen, Objective.pairwiseReward(), modelWeights);
    try {
      float[] r = rm.model.rewards(new Batch(tokens, readAt));
      for (int i = 0; i < b; i++) {
        out[i] = r[i];
      }
    } finally {
      ExecutorModels.giveBack(rm);
    }
    return out;
  }
}
