package io.sparkgpt.jobs;

import picocli.CommandLine.Option;

/** How every trainer treats an existing run folder: the same two flags, spelled alike. */
public final class ResumeOptions {
  @Option(
      names = "--resume",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Continue from the latest RUN_DIR/checkpoints/step-N (default); --no-resume starts afresh.")
  public boolean resume;

  @Option(
      names = "--allow-config-change",
      description =
          "Resume even though the training settings differ from the checkpoint's; the change is written "
              + "to metrics.jsonl. Without it, a difference is an error listing the settings.")
  public boolean allowConfigChange;
}
