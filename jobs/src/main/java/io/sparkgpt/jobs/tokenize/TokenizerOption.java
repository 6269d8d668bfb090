package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import picocli.CommandLine.Option;

/**
 * --tokenizer: a tokenizer.json, a SentencePiece .model, a .tiktoken rank file, r50k_base or
 * cl100k_base.
 */
public final class TokenizerOption {
  @Option(
      names = {"-t", "--tokenizer"},
      required = true,
      paramLabel = "SPEC",
      description =
          "tokenizer.json, SentencePiece .model, .tiktoken file, r50k_base (GPT-2) or cl100k_base.")
  String spec;

  public Tokenizer load() {
    return load(spec);
  }

  /** Loads a tokenizer spec; a bad one is a one-line user error. */
  public static Tokenizer load(String spec) {
    try {
      return Tokenizers.load(spec);
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new UserError("--tokenizer " + spec + ": " + e.getMessage());
    }
  }
}
