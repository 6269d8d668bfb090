package io.sparkgpt.jobs;

import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A command's own defaults for the shared training flags ({@link OptimizerOptions}, {@link
 * RunOptions}, {@link WorkerOptions}): it names only the flags whose default differs from the
 * mixin's, and {@code --help} shows the command's values.
 */
public abstract class TrainingDefaults implements IDefaultValueProvider {
  private final Map<String, String> values = new HashMap<>();

  /**
   * @param flagsAndValues pairs: "--lr", "1e-4", ...
   */
  protected TrainingDefaults(String... flagsAndValues) {
    for (int i = 0; i < flagsAndValues.length; i += 2) {
      values.put(flagsAndValues[i], flagsAndValues[i + 1]);
    }
  }

  /** A subclass's own default, replacing its parent's: {@code set("--lr", "1e-3")}. */
  protected final void set(String flag, String value) {
    values.put(flag, value);
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    return arg instanceof OptionSpec o ? values.get(o.longestName()) : null;
  }
}
