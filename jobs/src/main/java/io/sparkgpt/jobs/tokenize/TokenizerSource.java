package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tokenizer that executors can rebuild: the bytes of the copy stored in the dataset folder
 * (tokenizer.json or tokenizer.model), loaded once per executor JVM. In a JVM that already holds
 * the driver's instance (embedded {@code local[N]}, where the driver is the executor) that instance
 * is used: parsing the copy again cost the first task 2 of its 3.6 s.
 */
final class TokenizerSource implements Serializable {
  /** The driver's tokenizers by the SHA-256 of their copy, while a job that ships them runs. */
  private static final Map<String, Tokenizer> DRIVER_INSTANCES = new ConcurrentHashMap<>();

  private final String file;
  private final byte[] bytes;
  private final String sha256;
  private transient Tokenizer tokenizer;

  private TokenizerSource(String file, byte[] bytes, String sha256) {
    this.file = file;
    this.bytes = bytes;
    this.sha256 = sha256;
  }

  /**
   * The source of {@code driverInstance}'s {@code copy}; executors in this JVM use the instance
   * itself until {@link #close}.
   */
  static TokenizerSource shared(DatasetWriter.TokenizerCopy copy, Tokenizer driverInstance) {
    DRIVER_INSTANCES.put(copy.sha256(), driverInstance);
    return new TokenizerSource(copy.file(), copy.content(), copy.sha256());
  }

  /** Stops offering the driver's instance (the job is over). */
  void close() {
    DRIVER_INSTANCES.remove(sha256);
  }

  synchronized Tokenizer get() {
    if (tokenizer == null) {
      tokenizer = DRIVER_INSTANCES.get(sha256);
    }
    if (tokenizer == null) {
      tokenizer = Tokenizers.load(file, bytes);
    }
    return tokenizer;
  }
}
