package io.sparkgpt.jobs.align;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Generator;
import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.LrSchedule;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Held-out evaluation of a checkpoint, each figure next to the same model's untrained baseline (a
 * fresh initialisation of its config, or the 0.5 of chance for pairwise figures).
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Evaluate a checkpoint on held-out data: perplexity on a dataset split, completion loss on "
          + "prompt/completion JSONL, pairwise accuracy of a reward model on preference JSONL, or the win rate of "
          + "one policy against another under a reward model.",
      "Prints the figures as one JSON object on standard output and one summary line on standard error; "
          + "--output also writes the JSON to a file."
    })
public final class EvalCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(
      names = {"-c", "--checkpoint"},
      required = true,
      paramLabel = "DIR",
      description = "The checkpoint to evaluate (a policy, or a reward model for --pairs).")
  Path checkpoint;

  @ArgGroup(exclusive = true, multiplicity = "1")
  What what;

  static final class What {
    @Option(
        names = "--dataset",
        paramLabel = "DIR",
        description = "Perplexity on a split of a tokenize dataset.")
    Path dataset;

    @Option(
        names = "--completions",
        paramLabel = "FILE.jsonl",
        description =
            "Completion loss and perplexity on {\"prompt\",\"completion\"} lines (the sft template).")
    Path completions;

    @Option(
        names = "--pairs",
        paramLabel = "FILE.jsonl",
        description =
            "Pairwise accuracy and mean reward margin of a reward model, or of a DPO policy's implicit "
                + "reward (with --reference), on {\"prompt\",\"chosen\",\"rejected\"} lines.")
    Path pairs;

    @Option(
        names = "--prompts",
        paramLabel = "FILE.jsonl",
        description =
            "Win rate of --checkpoint against --against under --reward, on {\"prompt\"} lines.")
    Path prompts;
  }

  @Option(
      names = "--split",
      defaultValue = "val",
      paramLabel = "NAME",
      description = "Dataset split (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(
      names = "--max-examples",
      defaultValue = "2000",
      paramLabel = "N",
      description =
          "At most this many samples, lines or prompts, from the start (default: ${DEFAULT-VALUE}).")
  int maxExamples;

  @Option(
      names = "--batch-size",
      defaultValue = "16",
      paramLabel = "B",
      description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--reference",
      paramLabel = "DIR",
      description =
          "With --pairs and a dpo checkpoint: its reference (dpo's --base); the implicit reward is "
              + "beta (log p_policy - log p_reference) of the response, beta the run's.")
  Path reference;

  @Option(
      names = "--against",
      paramLabel = "DIR",
      description = "With --prompts: the other policy.")
  Path against;

  @Option(
      names = "--reward",
      paramLabel = "DIR",
      description = "With --prompts: the reward model that judges.")
  Path reward;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "32",
      paramLabel = "N",
      description = "With --prompts: response length (default: ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--temperature",
      defaultValue = "0",
      paramLabel = "T",
      description = "With --prompts: sampling temperature, 0 = greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--seed",
      defaultValue = "1337",
      paramLabel = "S",
      description = "Sampling and baseline-initialisation seed.")
  long seed;

  @Option(
      names = "--threads",
      defaultValue = "0",
      paramLabel = "N",
      description = "ND4J threads (0 = ND4J's default).")
  int threads;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE.json",
      description = "Also write the JSON here.")
  Path output;

  @Option(
      names = {"-v", "--verbose"},
      description = "Show ND4J's INFO logs and full stack traces.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    SparkRuntime.quietLogs(verbose);
    Trainer.applyThreads(threads);
    Checkpoint ck = AveragingOptions.load(checkpoint, "--checkpoint", false);
    ObjectNode out = JSON.createObjectNode();
    out.put("checkpoint", checkpoint.toString());
    String summary;
    if (what.dataset != null) {
      summary = perplexity(ck, out);
    } else if (what.completions != null) {
      summary = completions(ck, out);
    } else if (what.pairs != null) {
      summary = pairs(ck, out);
    } else {
      summary = winRate(ck, out);
    }
    String json = JSON.writeValueAsString(out);
    System.out.println(json);
    if (output != null) {
      Path tmp = output.resolveSibling("." + output.getFileName() + ".inprogress");
      Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    System.err.println("eval: " + summary);
    return 0;
  }

  private static StepRunner runner(GptConfig cfg, int seqLen, Objective objective) {
    return new StepRunner(
        cfg, seqLen, AdamW.Hyper.defaults(), new LrSchedule(0, 0, 0, 1), 0, objective);
  }

  /**
   * Mean loss of the LM objective over {@code batches}: trained, and from a fresh initialisation.
   */
  private double[] lmLoss(Checkpoint ck, int seqLen, List<Batch> batches) {
    if (ck.head() != Head.NONE) {
      throw new UserError(
          "--checkpoint "
              + checkpoint
              + " is a "
              + ck.head().name().toLowerCase(Locale.ROOT)
              + " model, not a language model");
    }
    StepRunner r = runner(ck.config(), seqLen, Objective.lm());
    double trained = r.evaluate(ck.params(), batches);
    double untrained = r.evaluate(GptModel.initParams(ck.config(), seed), batches);
    return new double[] {trained, untrained};
  }

  private String perplexity(Checkpoint ck, ObjectNode out) throws IOException {
    if (!Files.isRegularFile(what.dataset.resolve("manifest.json"))) {
      throw new UserError(
          "--dataset " + what.dataset + " is not a finished dataset (no manifest.json)");
    }
    try (TokenDataset ds = TokenDataset.open(what.dataset, false)) {
      if (!ds.splits().contains(split) || ds.split(split).numSamples() == 0) {
        throw new UserError(
            "--dataset "
                + what.dataset
                + " has no samples in split '"
                + split
                + "' (splits: "
                + ds.splits()
                + ")");
      }
      if (ds.vocabSize() != ck.config().vocabSize() || ds.seqLen() > ck.config().blockSize()) {
        throw new UserError(
            "--dataset "
                + what.dataset
                + " (vocabulary "
                + ds.vocabSize()
                + ", seq_len "
                + ds.seqLen()
                + ") does not fit the checkpoint (vocabulary "
                + ck.config().vocabSize()
                + ", block size "
                + ck.config().blockSize()
                + ")");
      }
      SampleReader r = ds.split(split);
      int n = Math.min(r.numSamples(), maxExamples);
      List<Batch> batches = new ArrayList<>();
      for (int first = 0; first < n; first += batchSize) {
        int[][] rows = new int[Math.min(batchSize, n - first)][r.sampleTokens()];
        for (int i = 0; i < rows.length; i++) {
          r.sample(first + i, rows[i]);
        }
        batches.add(Batch.of(rows));
      }
      double[] loss = lmLoss(ck, ds.seqLen(), batches);
      out.put("task", "perplexity")
          .put("dataset", what.dataset.toString())
          .put("split", split)
          .put("samples", n)
          .put("tokens", (long) n * ds.seqLen())
          .put("loss", loss[0])
          .put("perplexity", Math.exp(loss[0]))
          .put("untrained_loss", loss[1])
          .put("untrained_perplexity", Math.exp(loss[1]));
      return String.format(
          Locale.ROOT,
          "perplexity %.3f (loss %.4f) on %,d %s samples; untrained %.1f",
          Math.exp(loss[0]),
          loss[0],
          n,
          split,
          Math.exp(loss[1]));
    }
  }

  /** The lines of {@code file} that parse; none is a one-line error. */
  private static <E> JsonlExamples<E> read(
      Path file, String flag, JsonlExamples.LineParser<E> parser) {
    JsonlExamples<E> ex = JsonlExamples.read(flag, file, parser);
    if (ex.accepted().isEmpty()) {
      throw new UserError(
          flag + " " + file + ": no usable lines (" + ex.rejectedCount() + " rejected)");
    }
    return ex;
  }

  private static <E> List<E> first(JsonlExamples<E> ex, int n) {
    return ex.accepted().stream().limit(n).map(JsonlExamples.Numbered::example).toList();
  }

  private String completions(Checkpoint ck, ObjectNode out) throws IOException {
    int t = ck.config().blockSize();
    List<ExampleData.Example> examples;
    int eot;
    JsonlExamples<ExampleData.Example> ex;
    try (Tokenizer tok = ck.tokenizer()) {
      eot = Math.max(0, tok.endOfTextId());
      ex = read(what.completions, "--completions", (o, note) -> SftCommand.example(tok, o, t));
    }
    examples = first(ex, maxExamples);
    List<Batch> batches = new ArrayList<>();
    long tokens = 0;
    for (int i = 0; i < examples.size(); i += batchSize) {
      Batch b =
          ExampleData.batch(
              ExampleData.Kind.SFT,
              t,
              eot,
              examples.subList(i, Math.min(examples.size(), i + batchSize)));
      tokens += (long) b.maskSum();
      batches.add(b);
    }
    double[] loss = lmLoss(ck, t, batches);
    out.put("task", "completion_loss")
        .put("file", what.completions.toString())
        .put("examples", examples.size())
        .put("rejected_lines", ex.rejectedCount())
        .put("completion_tokens", tokens)
        .put("loss", loss[0])
        .put("perplexity", Math.exp(loss[0]))
        .put("untrained_loss", loss[1]);
    return String.format(
        Locale.ROOT,
        "completion loss %.4f (perplexity %.2f) on %,d examples (%,d rejected lines); "
            + "untrained %.4f",
        loss[0],
        Math.exp(loss[0]),
        examples.size(),
        ex.rejectedCount(),
        loss[1]);
  }

  private String pairs(Checkpoint ck, ObjectNode out) throws IOException {
    // a reward model reads its score at an input position; DPO scores whole responses, targets
    // included
    boolean dpo = ck.head() == Head.NONE && reference != null;
    if (ck.head() != Head.REWARD && !dpo) {
      throw new UserError(
          "--pairs needs a reward model (made by train-reward), or a dpo checkpoint with --reference; "
              + "--checkpoint "
              + checkpoint
              + " is neither");
    }
    Checkpoint ref = dpo ? AveragingOptions.load(reference, "--reference", false) : null;
    Objective objective = dpo ? Objective.dpo(dpoBeta(ck)) : Objective.pairwiseReward();
    if (dpo && (!ref.config().equals(ck.config()) || ref.head() != Head.NONE)) {
      throw new UserError(
          "--reference " + reference + " is not a language model of the checkpoint's config");
    }
    int t = ck.config().blockSize();
    int eot;
    JsonlExamples<ExampleData.Example> ex;
    try (Tokenizer tok = ck.tokenizer()) {
      eot = Math.max(0, tok.endOfTextId());
      ex =
          read(
              what.pairs,
              "--pairs",
              (o, note) -> TrainRewardCommand.pair(tok, o, dpo ? t + 1 : t, note));
    }
    List<ExampleData.Example> examples = first(ex, maxExamples);
    StepRunner r = runner(ck.config(), t, objective);
    Gpt refEngine = null;
    if (dpo) {
      refEngine = new Gpt(ref.config(), t);
      refEngine.load(ref.backbone());
    }
    List<Batch> batches = new ArrayList<>();
    for (int i = 0; i < examples.size(); i += batchSize) {
      List<ExampleData.Example> part =
          examples.subList(i, Math.min(examples.size(), i + batchSize));
      Batch b =
          ExampleData.batch(dpo ? ExampleData.Kind.DPO : ExampleData.Kind.PAIRS, t, eot, part);
      batches.add(dpo ? b.withReferenceLogps(refEngine.sequenceLogProbs(b)) : b);
    }
    StepRunner.Pairwise pw = r.pairwise(ck.params(), batches);
    out.put("task", "pairwise_accuracy")
        .put("file", what.pairs.toString())
        .put("pairs", examples.size())
        .put("rejected_lines", ex.rejectedCount())
        .put("accuracy", pw.accuracy())
        .put("mean_margin", pw.meanMargin())
        .put("chance", 0.5);
    if (dpo) {
      out.put("reward", "dpo_implicit")
          .put("reference", reference.toString())
          .put("beta", objective.beta());
    }
    return String.format(
        Locale.ROOT,
        "pairwise accuracy %.3f (chance 0.5), mean margin %.4f on %,d pairs (%,d rejected lines)%s",
        pw.accuracy(),
        pw.meanMargin(),
        examples.size(),
        ex.rejectedCount(),
        dpo ? "; DPO implicit reward" : "");
  }

  /**
   * The beta a dpo run trained with (its checkpoint's training state), which scales the implicit
   * reward.
   */
  private double dpoBeta(Checkpoint ck) {
    Object beta =
        ck.trainingState() == null || ck.trainingState().trainConfig() == null
            ? null
            : ck.trainingState().trainConfig().get("dpo_beta");
    if (!(beta instanceof Number n)) {
      throw new UserError(
          "--checkpoint "
              + checkpoint
              + " was not trained by dpo (no dpo_beta in its training state); "
              + "--reference applies to dpo checkpoints");
    }
    return n.doubleValue();
  }

  private String winRate(Checkpoint policy, ObjectNode out) throws IOException {
    if (against == null || reward == null) {
      throw new UserError("--prompts needs --against (the other policy) and --reward (the judge)");
    }
    Checkpoint other = AveragingOptions.load(against, "--against", false);
    Checkpoint judge = AveragingOptions.load(reward, "--reward", false);
    if (judge.head() != Head.REWARD) {
      throw new UserError("--reward " + reward + " is not a reward model (made by train-reward)");
    }
    if (policy.head() == Head.REWARD
        || other.head() == Head.REWARD) { // a ppo checkpoint's value head is ignored
      throw new UserError(
          "--checkpoint and --against must be policies (language models, or ppo checkpoints), not "
              + "reward models");
    }
    JsonlExamples<String> ex =
        read(what.prompts, "--prompts", (o, note) -> JsonlExamples.text(o, "prompt"));
    List<String> prompts = first(ex, maxExamples);
    int t = judge.config().blockSize();
    StepRunner judgeRunner = runner(judge.config(), t, Objective.pairwiseReward());
    Generator.Sampling sampling =
        new Generator.Sampling(maxNewTokens, temperature, 0, 1, seed, true);
    double wins = 0;
    double margin = 0;
    com.fasterxml.jackson.databind.node.ArrayNode samples = JSON.createArrayNode();
    try (Tokenizer tok = policy.tokenizer()) {
      int eot = tok.endOfTextId();
      if (eot < 0) {
        throw new UserError("the policy's tokenizer has no end-of-text token");
      }
      for (String prompt : prompts) {
        int[] p = ChatTemplate.encodePrompt(tok, prompt);
        int[] a = Generator.generateIds(policy.config(), policy.backbone(), p, sampling, eot).ids();
        int[] b = Generator.generateIds(other.config(), other.backbone(), p, sampling, eot).ids();
        float[] s =
            Arrays.equals(a, b)
                ? new float[2] // the same response: a tie, whatever rounding two rows get
                : judgeRunner.rewards(judge.params(), scored(p, List.of(a, b), t, eot));
        wins += s[0] > s[1] ? 1 : s[0] == s[1] ? 0.5 : 0;
        margin += s[0] - s[1];
        if (samples.size() < 5) {
          samples
              .addObject()
              .put("prompt", prompt)
              .put("response", tok.decode(a))
              .put("against_response", tok.decode(b))
              .put("reward", s[0])
              .put("against_reward", s[1]);
        }
      }
    }
    double rate = wins / prompts.size();
    out.put("task", "win_rate")
        .put("file", what.prompts.toString())
        .put("against", against.toString())
        .put("reward", reward.toString())
        .put("prompts", prompts.size())
        .put("rejected_lines", ex.rejectedCount())
        .put("win_rate", rate)
        .put("mean_reward_margin", margin / prompts.size())
        .put("chance", 0.5);
    out.set("samples", samples);
    return String.format(
        Locale.ROOT,
        "win rate %.3f against %s (ties, identical responses included, count half; chance 0.5), mean reward margin %.4f on %,d prompts",
        rate,
        against,
        margin / prompts.size(),
        prompts.size());
  }

  /**
   * Prompt + response + end-of-text rows (the prompt cut from the left to fit), read at the
   * end-of-text.
   */
  private static Batch scored(int[] prompt, List<int[]> responses, int t, int eot) {
    int[][] tokens = new int[responses.size()][t + 1];
    float[][] readAt = new float[responses.size()][t];
    for (int i = 0; i < tokens.length; i++) {
      int[] r = responses.get(i);
      int keepResponse = Math.min(r.length, t - 1);
      int keepPrompt = Math.min(prompt.length, t - 1 - keepResponse);
      Arrays.fill(tokens[i], eot);
      System.arraycopy(prompt, prompt.length - keepPrompt, tokens[i], 0, keepPrompt);
      System.arraycopy(r, 0, tokens[i], keepPrompt, keepResponse);
      readAt[i][keepPrompt + keepResponse] = 1; // the end-of-text after the response
    }
    return new Batch(tokens, readAt);
  }
}
