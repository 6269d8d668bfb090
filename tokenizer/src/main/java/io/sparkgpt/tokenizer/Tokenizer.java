package io.sparkgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * Text to token ids and back. Implementations are immutable and safe to share between threads.
 *
 * <p>Special tokens (such as {@code <|endoftext|>}) are never produced from text unless the caller
 * names them in {@code allowedSpecial}: by default their text is encoded like any other text.
 * Callers that separate documents append {@link #endOfTextId()} themselves.
 */
public interface Tokenizer extends AutoCloseable {

  /** A short name: the encoding name, or the file it was loaded from. */
  String name();

  /** One more than the largest token id. */
  int vocabSize();

  /** Special token text to id. */
  Map<String, Integer> specialTokens();

  /** Id of {@code <|endoftext|>} (or the model's end-of-sequence token), or -1 if it has none. */
  int endOfTextId();

  /**
   * Appends the ids of {@code text} to {@code out} and returns how many were appended. Occurrences
   * of the special tokens in {@code allowedSpecial} become their ids; all other text is ordinary
   * text.
   */
  int encode(CharSequence text, Set<String> allowedSpecial, IntArray out);

  default int encode(CharSequence text, IntArray out) {
    return encode(text, Set.of(), out);
  }

  default int[] encode(String text) {
    return encode(text, Set.of());
  }

  default int[] encode(String text, Set<String> allowedSpecial) {
    IntArray out = new IntArray(Math.max(16, text.length() / 3));
    encode(text, allowedSpecial, out);
    return out.toArray();
  }

  /**
   * The bytes of the tokens, concatenated. A slice of ids may end inside a multi-byte character;
   * see {@link TokenDecoder} for streaming text out of such slices.
   *
   * @throws IllegalArgumentException on an id that is not in the vocabulary
   */
  byte[] decodeBytes(int[] ids);

  /** The text of the tokens; invalid UTF-8 (a cut character) decodes as U+FFFD, as in tiktoken. */
  default String decode(int[] ids) {
    return new String(decodeBytes(ids), StandardCharsets.UTF_8);
  }

  /** Releases native resources, if any; the pure-Java tokenizers hold none. */
  @Override
  default void close() {}
}
