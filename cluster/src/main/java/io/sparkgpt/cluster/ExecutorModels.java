package io.sparkgpt.cluster;

import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Objective;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.spark.broadcast.Broadcast;

/**
 * Per executor JVM: idle SameDiff graphs for rollout tasks, reused across iterations, each remembering which
 * broadcast its parameters came from so that frozen models (reference policy, reward model) are converted from
 * the broadcast floats once, and the policy once per iteration.
 */
final class ExecutorModels {
  private static final Map<String, ConcurrentLinkedQueue<Loaded>> IDLE = new ConcurrentHashMap<>();

  private ExecutorModels() {
  }

  /** A graph and the broadcast id of its parameters (-1: none yet). */
  static final class Loaded {
    final String key;
    final GptModel model;
    long broadcastId = -1;

    Loaded(String key, GptModel model) {
      this.key = key;
      this.model = model;
    }
  }

  /** A graph for {@code cfg}/{@code seqLen}/{@code objective} holding the parameters of {@code weights}. */
  static Loaded borrow(GptConfig cfg, int seqLen, Objective objective, Broadcast<TrainState> weights) {
    String key = cfg + "|" + seqLen + "|" + objective;
    Loaded l = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).poll();
    if (l == null) {
      l = new Loaded(key, new GptModel(cfg, seqLen, objective));
    }
    if (l.broadcastId != weights.id()) {
      l.model.setParams(weights.value().params());
      l.broadcastId = weights.id();
    }
    return l;
  }

  static void giveBack(Loaded l) {
    IDLE.computeIfAbsent(l.key, k -> new ConcurrentLinkedQueue<>()).add(l);
  }
}
