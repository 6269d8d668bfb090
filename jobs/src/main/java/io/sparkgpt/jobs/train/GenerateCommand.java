package io.sparkgpt.jobs.train;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.align.ChatTemplate;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Generator;
import io.sparkgpt.model.Head;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Sample text from a checkpoint with its own tokenizer; stops at end-of-text.",
      "The text goes to standard output as it is produced; timings go to standard error.",
      "With --chat (for SFT and PPO checkpoints) the prompt is wrapped in the SFT template "
          + "\"### Prompt:\\n{prompt}\\n\\n### Response:\\n\" and only the response is printed."
    })
public final class GenerateCommand implements Callable<Integer> {
  @Option(
      names = {"-c", "--checkpoint"},
      required = true,
      paramLabel = "DIR",
      description = "A checkpoint folder (e.g. RUN_DIR/checkpoint).")
  Path checkpoint;

  @Option(
      names = {"-p", "--prompt"},
      required = true,
      paramLabel = "TEXT",
      description = "The prompt.")
  String prompt;

  @Option(
      names = "--chat",
      description = "Wrap the prompt in the SFT template and print only the response.")
  boolean chat;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "200",
      paramLabel = "N",
      description = "At most this many tokens (default: ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--temperature",
      defaultValue = "0.8",
      paramLabel = "T",
      description = "0 = greedy; otherwise logits / T are sampled (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--top-k",
      defaultValue = "0",
      paramLabel = "K",
      description = "Keep the K likeliest tokens (0 = off).")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "1.0",
      paramLabel = "P",
      description = "Nucleus sampling (1 = off).")
  double topP;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Sampling seed.")
  long seed;

  @Option(
      names = "--no-cache",
      description = "Recompute the whole context for every token (for comparison).")
  boolean noCache;

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(checkpoint)) {
      throw new UserError("--checkpoint not found: " + checkpoint);
    }
    Generator.Sampling s;
    try {
      s = new Generator.Sampling(maxNewTokens, temperature, topK, topP, seed, !noCache);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    Checkpoint ckpt;
    try {
      ckpt = Checkpoint.load(checkpoint, false);
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw new UserError("cannot load checkpoint " + checkpoint + ": " + e.getMessage());
    }
    if (ckpt.head() == Head.REWARD) {
      throw new UserError(
          checkpoint + " is a reward model: it scores text, it does not generate it");
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (!chat) {
      out.print(prompt);
    }
    Generator.Result r =
        Generator.generate(ckpt, chat ? ChatTemplate.wrap(prompt) : prompt, s, out::print);
    out.println();
    System.err.printf(
        Locale.ROOT,
        "%d prompt tokens, %d generated (%s); prefill %.1f ms, %.1f ms/token%n",
        r.promptIds().length,
        r.ids().length,
        r.stopReason(),
        r.prefillMs(),
        r.msPerToken());
    return 0;
  }
}
