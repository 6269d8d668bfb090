package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.Serializable;

/**
 * A tokenizer that executors can rebuild: the bytes of the copy stored in the dataset folder (tokenizer.json or
 * tokenizer.model), loaded once per executor JVM.
 */
final class TokenizerSource implements Serializable {
  private final String file;
  private final byte[] bytes;
  private transient Tokenizer tokenizer;

  TokenizerSource(String file, byte[] bytes) {
    this.file = file;
    this.bytes = bytes;
  }

  synchronized Tokenizer get() {
    if (tokenizer == null) {
      tokenizer = Tokenizers.load(file, bytes);
    }
    return tokenizer;
  }
}
