package io.sparkgpt.jobs.align;

import io.sparkgpt.tokenizer.Tokenizer;

/**
 * The prompt template of supervised fine-tuning, also used by the reward model, PPO and {@code
 * generate --chat}:
 *
 * <pre>
 * ### Prompt:
 * {prompt}
 *
 * ### Response:
 * {completion}&lt;|endoftext|&gt;
 * </pre>
 *
 * The wrapped prompt and the completion are tokenised separately (so a response generated after the
 * wrapped prompt meets exactly the token boundary it was trained with) and end-of-text is the
 * tokenizer's own id, never parsed from text.
 */
public final class ChatTemplate {
  public static final String PROMPT_HEADER = "### Prompt:\n";
  public static final String RESPONSE_HEADER = "\n\n### Response:\n";

  private ChatTemplate() {}

  public static String wrap(String prompt) {
    return PROMPT_HEADER + prompt + RESPONSE_HEADER;
  }

  public static int[] encodePrompt(Tokenizer tok, String prompt) {
    return tok.encode(wrap(prompt));
  }

  /** The completion's tokens followed by end-of-text. */
  public static int[] encodeCompletion(Tokenizer tok, String completion) {
    int[] c = tok.encode(completion);
    int[] out = java.util.Arrays.copyOf(c, c.length + 1);
    out[c.length] = tok.endOfTextId();
    return out;
  }
}
