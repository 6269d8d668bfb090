package io.sparkgpt.jobs.align;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.Objective;
import io.sparkgpt.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "train-reward",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    defaultValueProvider = TrainRewardCommand.Defaults.class,
    description = {
      "Train a reward model on {\"prompt\", \"chosen\", \"rejected\"} JSONL lines, by parameter averaging "
          + "on Spark: the base checkpoint's GPT backbone plus a scalar head score.weight [d, 1], score.bias [1], "
          + "read at the last real token (the end-of-text).",
      "Each response is scored as \"### Prompt:\\n{prompt}\\n\\n### Response:\\n{response}<|endoftext|>\" (the SFT "
          + "template); loss -log sigmoid(r_chosen - r_rejected); the validation pairwise accuracy is logged.",
      "When a pair does not fit in --seq-len tokens, the prompt is cut from the left (counted in the report); a "
          + "response that alone does not fit, identical responses and malformed lines are rejected and listed "
          + "with their line numbers in RUN_DIR/data/report.json and rejected.jsonl.",
      "Writes RUN_DIR/metrics.jsonl (val_loss, val_accuracy), loss.png, checkpoints/step-N and checkpoint/ "
          + "(config.json marks \"sparkgpt_head\": \"reward\"); resumes from the latest checkpoint."
    })
public final class TrainRewardCommand implements Callable<Integer> {
  /**
   * A freshly initialised head needs a larger step than fine-tuning: at 1e-4 the pairwise loss
   * stayed at ln 2 for 100 steps on hh-rlhf (held-out accuracy 0.509), at 1e-3 it reached 0.564
   * (README, scripts/bench-reward.sh).
   */
  public static final class Defaults extends AveragingOptions.Defaults {
    public Defaults() {
      set("--lr", "1e-3");
    }
  }

  @Mixin AveragingOptions train;

  @Override
  public Integer call() throws Exception {
    AveragingOptions.Prepared p =
        train.prepare(
            ExampleData.Kind.PAIRS,
            "preference data",
            "training pairs",
            (tok, t) -> (o, note) -> pair(tok, o, t, note));
    ParameterAveragingTrainer.Run run =
        new ParameterAveragingTrainer.Run(
            "train-reward",
            p.data(),
            Objective.pairwiseReward(),
            GptModel.withNewHead(
                p.base().config(), p.base().backbone(), Head.REWARD, train.run.seed));
    ParameterAveragingTrainer.Result r = train.train("train-reward", p.base().config(), run);
    System.out.printf(
        Locale.ROOT,
        "reward steps %d..%d, validation loss %s, validation pairwise accuracy %s%n",
        r.firstStep(),
        r.lastStep(),
        r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()),
        r.lastValAccuracy() == null
            ? "n/a"
            : String.format(Locale.ROOT, "%.3f", r.lastValAccuracy()));
    System.out.println(
        "run: "
            + train.output
            + " (metrics.jsonl, loss.png, checkpoints/, checkpoint/, data/report.json)");
    return 0;
  }

  /**
   * A preference line: prompt, chosen and rejected, which must differ; each sequence at most {@code
   * t} tokens (train-reward: --seq-len, the reward being read at an input position; dpo: --seq-len
   * + 1, as an sft example).
   */
  static ExampleData.Example pair(Tokenizer tok, JsonNode o, int t, Consumer<String> note)
      throws JsonlExamples.Rejected {
    String prompt = JsonlExamples.text(o, "prompt");
    String chosen = JsonlExamples.text(o, "chosen");
    String rejected = JsonlExamples.text(o, "rejected");
    if (chosen.equals(rejected)) {
      throw new JsonlExamples.Rejected("chosen and rejected are identical");
    }
    return pair(tok, prompt, chosen, rejected, t, note);
  }

  /**
   * Template prompt + response + end-of-text for both responses; the prompt's tokens are cut from
   * the left when the longer sequence exceeds {@code t} tokens.
   */
  private static ExampleData.Example pair(
      Tokenizer tok, String prompt, String chosen, String rejected, int t, Consumer<String> note)
      throws JsonlExamples.Rejected {
    int[] p = ChatTemplate.encodePrompt(tok, prompt);
    int[] c = ChatTemplate.encodeCompletion(tok, chosen);
    int[] r = ChatTemplate.encodeCompletion(tok, rejected);
    int longest = Math.max(c.length, r.length);
    if (longest + 1 > t) {
      throw new JsonlExamples.Rejected(
          "too long (a response has more than " + (t - 1) + " tokens)");
    }
    int keep = Math.min(p.length, t - longest);
    if (keep < p.length) {
      note.accept("prompt truncated from the left");
    }
    return new ExampleData.Example(new int[][] {concat(p, keep, c), concat(p, keep, r)}, keep);
  }

  private static int[] concat(int[] prompt, int keep, int[] response) {
    int[] out = Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length + response.length);
    System.arraycopy(response, 0, out, keep, response.length);
    return out;
  }
}
