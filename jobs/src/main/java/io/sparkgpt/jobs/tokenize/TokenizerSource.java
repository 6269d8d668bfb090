package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.tokenizer.HfTokenizerJson;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
      try {
        if (file.endsWith(".model")) {
          Path tmp = Files.createTempFile("sparkgpt-tokenizer", ".model");
          Files.write(tmp, bytes);
          tmp.toFile().deleteOnExit();
          tokenizer = Tokenizers.load(tmp.toString());
        } else {
          tokenizer = HfTokenizerJson.load(new ByteArrayInputStream(bytes), file);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return tokenizer;
  }
}
