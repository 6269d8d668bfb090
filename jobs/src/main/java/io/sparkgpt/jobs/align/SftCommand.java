package io.sparkgpt.jobs.align;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.model.Objective;
import io.sparkgpt.tokenizer.Tokenizer;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "sft",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    defaultValueProvider = AveragingOptions.Defaults.class,
    description = {
      "Supervised fine-tuning of a pretrained checkpoint on {\"prompt\": ..., \"completion\": ...} JSONL "
          + "lines, by parameter averaging on Spark (as pretrain).",
      "Template: \"### Prompt:\\n{prompt}\\n\\n### Response:\\n{completion}<|endoftext|>\"; the loss is on the "
          + "completion tokens and the end-of-text only; shorter examples are padded, with mask 0 on the padding.",
      "--pack puts several examples in a row instead (best-fit decreasing), with attention that does not cross "
          + "examples and position ids that restart per example: the same losses, less padding.",
      "Malformed lines (invalid JSON, a missing, non-string or empty field, longer than --seq-len + 1 tokens) are "
          + "counted and listed with their line numbers in RUN_DIR/data/report.json and rejected.jsonl.",
      "Writes RUN_DIR/metrics.jsonl, loss.png, checkpoints/step-N and checkpoint/ (for `generate --chat`); "
          + "resumes from the latest checkpoint."
    })
public final class SftCommand implements Callable<Integer> {
  @Option(
      names = "--pack",
      description =
          "Pack several examples per row instead of padding each to --seq-len + 1 tokens.")
  boolean pack;

  @Mixin AveragingOptions train;

  @Override
  public Integer call() throws Exception {
    AveragingOptions.Prepared p =
        train.prepare(
            ExampleData.Kind.SFT,
            "sft data",
            "training examples",
            (tok, t) -> (o, note) -> example(tok, o, t));
    ExampleData data = p.data();
    if (pack) {
      double padded = data.fill();
      data = data.packed();
      System.err.printf(
          Locale.ROOT,
          "packed %,d train examples into %,d rows of %d tokens (%.1f%% filled; one per row: "
              + "%.1f%%)%n",
          p.data().trainSize(),
          data.trainSize(),
          data.seqLen() + 1,
          100 * data.fill(),
          100 * padded);
    }
    ParameterAveragingTrainer.Run run =
        new ParameterAveragingTrainer.Run("sft", data, Objective.lm(), p.base().backbone());
    ParameterAveragingTrainer.Result r = train.train("sft", p.base().config(), run);
    System.out.printf(
        Locale.ROOT,
        "sft steps %d..%d, final train loss %.4f, validation loss %s%n",
        r.firstStep(),
        r.lastStep(),
        r.rounds().isEmpty() ? Double.NaN : r.rounds().get(r.rounds().size() - 1).lastStepLoss(),
        r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()));
    System.out.println(
        "run: "
            + train.output
            + " (metrics.jsonl, loss.png, checkpoints/, checkpoint/, data/report.json)");
    return 0;
  }

  /**
   * Template prompt + completion + end-of-text; the loss is on the completion and the end-of-text.
   */
  static ExampleData.Example example(Tokenizer tok, JsonNode o, int t)
      throws JsonlExamples.Rejected {
    int[] prompt = ChatTemplate.encodePrompt(tok, JsonlExamples.text(o, "prompt"));
    int[] completion = ChatTemplate.encodeCompletion(tok, JsonlExamples.text(o, "completion"));
    int len = prompt.length + completion.length;
    if (len > t + 1) {
      throw new JsonlExamples.Rejected("too long (more than " + (t + 1) + " tokens)");
    }
    int[] seq = java.util.Arrays.copyOf(prompt, len);
    System.arraycopy(completion, 0, seq, prompt.length, completion.length);
    return new ExampleData.Example(new int[][] {seq}, prompt.length);
  }
}
