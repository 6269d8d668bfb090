package io.sparkgpt.jobs.align;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.Objective;
import io.sparkgpt.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-reward", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a reward model on {\"prompt\", \"chosen\", \"rejected\"} JSONL lines, by parameter averaging "
        + "on Spark: the base checkpoint's GPT backbone plus a scalar head score.weight [d, 1], score.bias [1], "
        + "read at the last real token (the end-of-text).",
        "Each response is scored as \"### Prompt:\\n{prompt}\\n\\n### Response:\\n{response}<|endoftext|>\" (the SFT "
            + "template); loss -log sigmoid(r_chosen - r_rejected); the validation pairwise accuracy is logged.",
        "When a pair does not fit in --seq-len tokens, the prompt is cut from the left (counted in the report); a "
            + "response that alone does not fit, identical responses and malformed lines are rejected and listed "
            + "with their line numbers in RUN_DIR/data/report.json and rejected.jsonl.",
        "Writes RUN_DIR/metrics.jsonl (val_loss, val_accuracy), loss.png, checkpoints/step-N and checkpoint/ "
            + "(config.json marks \"sparkgpt_head\": \"reward\"); resumes from the latest checkpoint."})
public final class TrainRewardCommand implements Callable<Integer> {
  @Option(names = "--base", required = true, paramLabel = "CHECKPOINT", description = "A pretrained or SFT checkpoint.")
  Path base;

  @Option(names = {"-d", "--data"}, required = true, paramLabel = "FILE.jsonl", description = "Preference pairs.")
  Path data;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "RUN_DIR", description = "The run folder.")
  Path output;

  @Mixin
  AveragingOptions train;

  @Override
  public Integer call() throws Exception {
    new Preflight.Paths().input("--base", base.toString()).input("--data", data.toString())
        .output("--output", output.toString()).check();
    Checkpoint ckpt = AveragingOptions.load(base, "--base", false);
    int t = train.seqLen(ckpt.config());
    try (Tokenizer tok = ckpt.tokenizer()) {
      if (tok.endOfTextId() < 0) {
        throw new UserError("the base checkpoint's tokenizer has no end-of-text token");
      }
      JsonlExamples<ExampleData.Example> examples = JsonlExamples.read(data, (o, note) -> pair(tok, o, t, note));
      List<List<ExampleData.Example>> split = examples.split(train.valFraction, train.seed);
      Path dataDir = output.resolve("data");
      examples.writeReport(dataDir, split.get(0).size(), split.get(1).size());
      examples.summary("preference data", split.get(0).size(), split.get(1).size(), dataDir, System.err::println);
      if (split.get(0).isEmpty()) {
        throw new UserError("--data " + data + ": no usable training pairs (see " + dataDir.resolve(JsonlExamples.REPORT) + ")");
      }
      ExampleData pairs = ExampleData.write(ExampleData.Kind.PAIRS, dataDir, split.get(0), split.get(1), t,
          ckpt.config().vocabSize(), tok.endOfTextId(), Checkpoint.tokenizerFile(base));
      ParameterAveragingTrainer.Run run = new ParameterAveragingTrainer.Run("train-reward", pairs,
          Objective.pairwiseReward(), GptModel.withNewHead(ckpt.config(), ckpt.backbone(), Head.REWARD, train.seed));
      ParameterAveragingTrainer.Result r = train.train("train-reward", ckpt.config(), run, output);
      System.out.printf(Locale.ROOT, "reward steps %d..%d, validation loss %s, validation pairwise accuracy %s%n",
          r.firstStep(), r.lastStep(), r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()),
          r.lastValAccuracy() == null ? "n/a" : String.format(Locale.ROOT, "%.3f", r.lastValAccuracy()));
      System.out.println("run: " + output + " (metrics.jsonl, loss.png, checkpoints/, checkpoint/, data/report.json)");
    }
    return 0;
  }

  /** A preference line: prompt, chosen and rejected, which must differ. */
  static ExampleData.Example pair(Tokenizer tok, JsonNode o, int t, Consumer<String> note) throws JsonlExamples.Rejected {
    String prompt = JsonlExamples.text(o, "prompt");
    String chosen = JsonlExamples.text(o, "chosen");
    String rejected = JsonlExamples.text(o, "rejected");
    if (chosen.equals(rejected)) {
      throw new JsonlExamples.Rejected("chosen and rejected are identical");
    }
    return pair(tok, prompt, chosen, rejected, t, note);
  }

  /**
   * Template prompt + response + end-of-text for both responses; the prompt's tokens are cut from the left when
   * the longer sequence exceeds {@code t} tokens (the reward is read at an input position).
   */
  private static ExampleData.Example pair(Tokenizer tok, String prompt, String chosen, String rejected, int t,
                                          Consumer<String> note) throws JsonlExamples.Rejected {
    int[] p = ChatTemplate.encodePrompt(tok, prompt);
    int[] c = ChatTemplate.encodeCompletion(tok, chosen);
    int[] r = ChatTemplate.encodeCompletion(tok, rejected);
    int longest = Math.max(c.length, r.length);
    if (longest + 1 > t) {
      throw new JsonlExamples.Rejected("too long (a response has more than " + (t - 1) + " tokens)");
    }
    int keep = Math.min(p.length, t - longest);
    if (keep < p.length) {
      note.accept("prompt truncated from the left");
    }
    return new ExampleData.Example(new int[][]{concat(p, keep, c), concat(p, keep, r)}, keep);
  }

  private static int[] concat(int[] prompt, int keep, int[] response) {
    int[] out = Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length + response.length);
    System.arraycopy(response, 0, out, keep, response.length);
    return out;
  }
}
