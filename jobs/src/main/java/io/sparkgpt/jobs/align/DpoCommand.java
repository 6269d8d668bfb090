package io.sparkgpt.jobs.align;

import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.cluster.ReferenceData;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.Objective;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "dpo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    defaultValueProvider = AveragingOptions.Defaults.class,
    description = {
      "Direct Preference Optimization (Rafailov et al. 2023) of an SFT (or pretrained) checkpoint on "
          + "{\"prompt\", \"chosen\", \"rejected\"} JSONL lines (the train-reward files), by parameter averaging on Spark.",
      "Each response is scored as \"### Prompt:\\n{prompt}\\n\\n### Response:\\n{response}<|endoftext|>\" (the SFT "
          + "template); pi is the sum of the response tokens' log-probabilities (the prompt is masked out), ref the "
          + "same under the frozen --base, loss -log sigmoid(beta ((pi_c - ref_c) - (pi_r - ref_r))).",
      "Validation logs the implicit reward beta (pi - ref): its pairwise accuracy (val_accuracy) and mean margin "
          + "r_chosen - r_rejected (val_margin).",
      "Pairs that do not fit in --seq-len + 1 tokens have their prompt cut from the left (counted in the report); a "
          + "response that alone does not fit, identical responses and malformed lines are rejected and listed "
          + "with their line numbers in RUN_DIR/data/report.json and rejected.jsonl.",
      "--base must be readable at the same path on every Spark host (each worker reads it once, as the reference). "
          + "Writes RUN_DIR/metrics.jsonl, loss.png, checkpoints/step-N and checkpoint/ (a language model, for "
          + "`generate --chat`); resumes from the latest checkpoint."
    })
public final class DpoCommand implements Callable<Integer> {
  @Option(
      names = "--beta",
      defaultValue = "0.1",
      paramLabel = "BETA",
      description =
          "Strength of the pull towards the reference; the implicit reward's scale (default: ${DEFAULT-VALUE}).")
  double beta;

  @Mixin AveragingOptions train;

  @Override
  public Integer call() throws Exception {
    AveragingOptions.Prepared p =
        train.prepare(
            ExampleData.Kind.DPO,
            "preference data",
            "training pairs",
            (tok, t) -> (o, note) -> TrainRewardCommand.pair(tok, o, t + 1, note));
    if (p.base().head() != Head.NONE) {
      throw new UserError(
          "--base "
              + train.base
              + " is a "
              + p.base().head().id()
              + " model; dpo starts from a language "
              + "model (sft or pretrain)");
    }
    ParameterAveragingTrainer.Run run =
        new ParameterAveragingTrainer.Run(
            "dpo",
            new ReferenceData(p.data(), train.base),
            Objective.dpo(beta),
            p.base().backbone());
    ParameterAveragingTrainer.Result r = train.train("dpo", p.base().config(), run);
    System.out.printf(
        Locale.ROOT,
        "dpo steps %d..%d, validation loss %s, implicit reward accuracy %s, mean margin %s%n",
        r.firstStep(),
        r.lastStep(),
        format(r.lastValLoss(), "%.4f"),
        format(r.lastValAccuracy(), "%.3f"),
        format(r.lastValMargin(), "%.4f"));
    System.out.println(
        "run: "
            + train.output
            + " (metrics.jsonl, loss.png, checkpoints/, checkpoint/, data/report.json)");
    return 0;
  }

  private static String format(Double x, String f) {
    return x == null ? "n/a" : String.format(Locale.ROOT, f, x);
  }
}
