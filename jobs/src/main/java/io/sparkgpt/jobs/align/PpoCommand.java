package io.sparkgpt.jobs.align;

import io.sparkgpt.cluster.PpoConfig;
import io.sparkgpt.cluster.PpoTrainer;
import io.sparkgpt.cluster.RolloutReward;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.cluster.TrainState;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.ResumeOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.WorkerOptions;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Head;
import io.sparkgpt.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "ppo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "RLHF: optimise an SFT policy with PPO against a reward model (or a rule), with a KL penalty "
          + "against the frozen SFT model.",
      "Each iteration the workers (Spark tasks) sample responses to their share of the prompts with the broadcast "
          + "policy and score them (policy, reference and reward forward passes); the driver computes the "
          + "KL-penalised rewards and GAE advantages; the workers then run --ppo-epochs passes of clipped policy "
          + "and value losses, each on its share of every mini-batch, and the driver averages their parameters.",
      "Prompts are {\"prompt\": ...} JSONL lines, wrapped in the SFT template; malformed or too long lines are "
          + "listed in RUN_DIR/data/report.json and rejected.jsonl.",
      "Writes RUN_DIR/metrics.jsonl (reward, KL, entropy, clip fraction, time split per iteration), "
          + "samples.jsonl and checkpoint/ (the policy with its value head: use it with `generate --chat`); "
          + "resumes from checkpoint/."
    })
public final class PpoCommand implements Callable<Integer> {
  @Option(
      names = "--policy",
      required = true,
      paramLabel = "SFT_CHECKPOINT",
      description = "The starting policy, also the frozen reference for the KL penalty.")
  Path policy;

  @ArgGroup(exclusive = true, multiplicity = "1")
  RewardChoice reward;

  static final class RewardChoice {
    @Option(
        names = "--reward",
        paramLabel = "RM_CHECKPOINT",
        description = "A reward model made by train-reward.")
    Path model;

    @Option(
        names = "--rule-reward",
        paramLabel = "token:TEXT",
        description =
            "Instead of a reward model: the number of times the single token TEXT occurs in the response.")
    String rule;
  }

  @Option(
      names = "--prompts",
      required = true,
      paramLabel = "FILE.jsonl",
      description = "Prompt lines.")
  Path prompts;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "RUN_DIR",
      description = "The run folder.")
  Path output;

  @Option(
      names = "--iterations",
      defaultValue = "20",
      paramLabel = "N",
      description = "PPO iterations (default: ${DEFAULT-VALUE}).")
  int iterations;

  @Option(
      names = "--prompts-per-iteration",
      defaultValue = "16",
      paramLabel = "P",
      description = "Responses generated per iteration (default: ${DEFAULT-VALUE}).")
  int promptsPerIteration;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "32",
      paramLabel = "N",
      description = "Response length limit, end-of-text included (default: ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--max-prompt-tokens",
      paramLabel = "N",
      description =
          "Longer template-wrapped prompts are rejected (default: block size - max new tokens - 1).")
  Integer maxPromptTokens;

  @Option(
      names = "--temperature",
      defaultValue = "1.0",
      paramLabel = "T",
      description = "Rollout sampling temperature (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--ppo-epochs",
      defaultValue = "4",
      paramLabel = "E",
      description = "Passes over each batch of rollouts (default: ${DEFAULT-VALUE}).")
  int ppoEpochs;

  @Option(
      names = "--mini-batch",
      defaultValue = "8",
      paramLabel = "B",
      description = "Rollouts per optimizer step (default: ${DEFAULT-VALUE}).")
  int miniBatch;

  @Option(
      names = "--lr",
      defaultValue = "1e-5",
      paramLabel = "LR",
      description = "Learning rate (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(
      names = "--grad-clip",
      defaultValue = "1.0",
      paramLabel = "N",
      description = "Gradient norm clip (default: ${DEFAULT-VALUE}).")
  double gradClip;

  @Option(
      names = "--gamma",
      defaultValue = "1.0",
      paramLabel = "G",
      description = "Discount (default: ${DEFAULT-VALUE}).")
  double gamma;

  @Option(
      names = "--lambda",
      defaultValue = "0.95",
      paramLabel = "L",
      description = "GAE lambda (default: ${DEFAULT-VALUE}).")
  double lambda;

  @Option(
      names = "--clip-range",
      defaultValue = "0.2",
      paramLabel = "E",
      description = "Policy ratio clip (default: ${DEFAULT-VALUE}).")
  double clipRange;

  @Option(
      names = "--value-clip",
      defaultValue = "0.2",
      paramLabel = "C",
      description = "Value clip (default: ${DEFAULT-VALUE}).")
  double valueClip;

  @Option(
      names = "--value-coef",
      defaultValue = "0.1",
      paramLabel = "C",
      description = "Value loss weight (default: ${DEFAULT-VALUE}).")
  double valueCoef;

  @Option(
      names = "--entropy-coef",
      defaultValue = "0.0",
      paramLabel = "C",
      description = "Entropy bonus weight (default: ${DEFAULT-VALUE}).")
  double entropyCoef;

  @Option(
      names = "--kl-coef",
      defaultValue = "0.05",
      paramLabel = "B",
      description = "(Initial) KL penalty coefficient (default: ${DEFAULT-VALUE}).")
  double klCoef;

  @Option(
      names = "--kl-target",
      paramLabel = "KL",
      description =
          "Adapt the KL coefficient towards this KL per response (nats); default: a fixed coefficient.")
  Double klTarget;

  @Option(
      names = "--kl-horizon",
      defaultValue = "10000",
      paramLabel = "N",
      description = "Adaptive KL horizon in responses (default: ${DEFAULT-VALUE}).")
  double klHorizon;

  @Option(
      names = "--samples-per-iteration",
      defaultValue = "4",
      paramLabel = "N",
      description =
          "Generations per iteration written to samples.jsonl (default: ${DEFAULT-VALUE}).")
  int samplesPerIteration;

  @Option(
      names = "--checkpoint-every",
      defaultValue = "5",
      paramLabel = "N",
      description = "Checkpoint every N iterations, and at the end (default: ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(
      names = "--seed",
      defaultValue = "1337",
      paramLabel = "S",
      description = "Prompt order, sampling and value-head seed.")
  long seed;

  @Mixin ResumeOptions runFolder;

  @Mixin WorkerOptions cluster;

  @Override
  public Integer call() throws Exception {
    SparkRuntime.quietLogs(cluster.spark.verbose);
    new Preflight.Paths()
        .input("--policy", policy.toString())
        .input("--reward", reward.model == null ? null : reward.model.toString())
        .input("--prompts", prompts.toString())
        .output("--output", output.toString())
        .check();
    Checkpoint sft = AveragingOptions.load(policy, "--policy", false);
    if (sft.head() == Head.REWARD) {
      throw new UserError("--policy " + policy + " is a reward model, not a policy");
    }
    int block = sft.config().blockSize();
    int maxPrompt = maxPromptTokens != null ? maxPromptTokens : block - maxNewTokens - 1;
    Checkpoint rm = null;
    if (reward.model != null) {
      rm = AveragingOptions.load(reward.model, "--reward", false);
      if (rm.head() != Head.REWARD) {
        throw new UserError(
            "--reward " + reward.model + " is not a reward model (made by train-reward)");
      }
      if (rm.config().vocabSize() != sft.config().vocabSize()
          || rm.config().blockSize() < maxPrompt + maxNewTokens + 1) {
        throw new UserError(
            "--reward "
                + reward.model
                + " does not fit the policy: vocabulary "
                + rm.config().vocabSize()
                + " vs "
                + sft.config().vocabSize()
                + ", block size "
                + rm.config().blockSize()
                + " (needs "
                + (maxPrompt + maxNewTokens + 1)
                + ")");
      }
    }
    PpoConfig pc;
    try {
      pc =
          new PpoConfig(
              iterations,
              promptsPerIteration,
              cluster.workers,
              cluster.threadsPerTask(),
              maxPrompt,
              maxNewTokens,
              temperature,
              ppoEpochs,
              miniBatch,
              lr,
              gradClip,
              gamma,
              lambda,
              clipRange,
              valueClip,
              valueCoef,
              entropyCoef,
              klCoef,
              klTarget,
              klHorizon,
              seed,
              samplesPerIteration,
              checkpointEvery,
              runFolder.resume,
              runFolder.allowConfigChange);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    if (pc.seqLen() > block) {
      throw new UserError(
          "--max-prompt-tokens "
              + maxPrompt
              + " + --max-new-tokens "
              + maxNewTokens
              + " + 1 exceeds the policy's block size "
              + block);
    }
    List<int[]> ids = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    int ruleToken = -1;
    try (Tokenizer tok = sft.tokenizer()) {
      if (tok.endOfTextId() < 0) {
        throw new UserError("the policy's tokenizer has no end-of-text token");
      }
      if (reward.rule != null) {
        ruleToken = ruleToken(tok, reward.rule);
      }
      JsonlExamples<String> examples =
          JsonlExamples.read(
              "--prompts",
              prompts,
              (o, note) -> {
                String p = JsonlExamples.text(o, "prompt");
                if (ChatTemplate.encodePrompt(tok, p).length > maxPrompt) {
                  throw new JsonlExamples.Rejected("too long (more than " + maxPrompt + " tokens)");
                }
                return p;
              });
      Path dataDir = output.resolve("data");
      int n = examples.accepted().size();
      examples.writeReport(dataDir, n, 0);
      examples.summary("prompts", n, 0, dataDir, System.err::println);
      if (n == 0) {
        throw new UserError(
            "--prompts "
                + prompts
                + ": no usable prompts (see "
                + dataDir.resolve(JsonlExamples.REPORT)
                + ")");
      }
      for (JsonlExamples.Numbered<String> e : examples.accepted()) {
        texts.add(e.example());
        ids.add(ChatTemplate.encodePrompt(tok, e.example()));
      }
    }
    PpoTrainer.Result r;
    try (SparkSession session = cluster.start("ppo", Map.of())) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
      RolloutReward scorer =
          rm == null
              ? RolloutReward.tokenCount(ruleToken)
              : RolloutReward.model(rm.config(), sc.broadcast(TrainState.weights(rm.params())));
      try {
        r = PpoTrainer.train(sc, pc, sft, scorer, ids, texts, output, System.err::println);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
    }
    List<PpoTrainer.IterationStats> it = r.iterations();
    if (it.isEmpty()) {
      System.out.printf(
          Locale.ROOT,
          "ppo iterations %d..%d: nothing to do%n",
          r.firstIteration(),
          r.lastIteration());
    } else {
      System.out.printf(
          Locale.ROOT,
          "ppo iterations %d..%d, mean reward %.4f -> %.4f, KL %.4f%n",
          r.firstIteration(),
          r.lastIteration(),
          it.get(0).reward(),
          it.get(it.size() - 1).reward(),
          it.get(it.size() - 1).kl());
    }
    System.out.println(
        "run: " + output + " (metrics.jsonl, samples.jsonl, checkpoint/, data/report.json)");
    return 0;
  }

  /** {@code token:TEXT} where TEXT is exactly one token of the policy's tokenizer. */
  static int ruleToken(Tokenizer tok, String rule) {
    if (!rule.startsWith("token:") || rule.length() == "token:".length()) {
      throw new UserError("--rule-reward must be token:TEXT, got '" + rule + "'");
    }
    String text = rule.substring("token:".length());
    int[] ids = tok.encode(text);
    if (ids.length != 1) {
      throw new UserError(
          "--rule-reward: '" + text + "' is " + ids.length + " tokens for this tokenizer, not one");
    }
    return ids[0];
  }
}
