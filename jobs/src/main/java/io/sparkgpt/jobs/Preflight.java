package io.sparkgpt.jobs;

import io.sparkgpt.jobs.clean.Inputs;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/** Checks inputs and outputs before Spark starts, so that a mistake costs a second, not a session start. */
public final class Preflight {
  private Preflight() {}

  /**
   * @param flagsAndPaths pairs of (flag, path) for every output the job will write; null paths are ignored
   * @throws UserError when an input is missing or an output exists without --overwrite
   */
  public static void check(List<String> inputs, Inputs.Format format, boolean overwrite, String... flagsAndPaths)
      throws IOException {
    Configuration conf = new Configuration();
    Inputs.expand(conf, inputs, format);
    Outputs outputs = new Outputs(conf, overwrite);
    for (int i = 0; i + 1 < flagsAndPaths.length; i += 2) {
      if (flagsAndPaths[i + 1] != null) {
        outputs.checkWritable(flagsAndPaths[i + 1], flagsAndPaths[i]);
      }
    }
  }
}
