package io.sparkgpt.jobs;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The test corpus: {@code testdata/corpus} in the checkout (prefixes of the shared development corpus), or the folder
 * given by {@code -Dsparkgpt.corpus}. Missing, it fails the test: the suite must not silently check less.
 */
public final class TestCorpus {
  private TestCorpus() {}

  public static Path dir() {
    Path p = Path.of(System.getProperty("sparkgpt.corpus", "../testdata/corpus")).toAbsolutePath().normalize();
    if (!Files.isDirectory(p.resolve("prose_en"))) {
      throw new IllegalStateException("test corpus not found at " + p
          + " (it is testdata/corpus in the checkout; -Dsparkgpt.corpus=DIR names another)");
    }
    return p;
  }

  public static Path file(String relative) {
    return dir().resolve(relative);
  }
}
