package io.sparkgpt.cluster;

import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.Objective;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.spark.broadcast.Broadcast;

/**
 * Per executor JVM: idle engines ({@link Gpt}) for rollout tasks, reused across iterations with
 * their buffers, each remembering which broadcast its parameters came from so that frozen models
 * (reference policy, reward model) are loaded from the broadcast once, and the policy once per
 * iteration.
 */
final class ExecutorModels {
  private static final Map<String, ConcurrentLinkedQueue<Loaded>> IDLE = new ConcurrentHashMap<>();

  private ExecutorModels() {}

  /** An engine and the broadcast id of its parameters (-1: none yet). */
  static final class Loaded {
    final String key;
    final Gpt model;
    long broadcastId = -1;

    Loaded(String key, Gpt model) {
      this.key = key;
      this.model = model;
    }
  }

  /**
   * An engine for {@code cfg}/{@code seqLen}/{@code objective} holding (a copy of) the parameters
   * of {@code weights}.
   */
  static Loaded borrow(
      GptConfig cfg, int seqLen, Objective objective, Broadcast<TrainState> weights) {
    String key = cfg + "|" + seqLen + "|" + objective;
    Loaded l = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).poll();
    if (l == null) {
      l = new Loaded(key, new Gpt(cfg, seqLen, objective));
    }
    if (l.broadcastId != weights.id()) {
      l.model.load(weights.value().params());
      l.broadcastId = weights.id();
    }
    return l;
  }

  static void giveBack(Loaded l) {
    IDLE.computeIfAbsent(l.key, k -> new ConcurrentLinkedQueue<>()).add(l);
  }
}
