package io.sparkgpt.jobs;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Flags every Spark job shares. */
public final class SparkOptions {
  @Option(
      names = "--master",
      paramLabel = "URL",
      description =
          "Spark master, e.g. spark://host:7077 or yarn. Default: embedded local[*] "
              + "(or what spark-submit chose).")
  public String master;

  @Option(
      names = "--conf",
      paramLabel = "KEY=VALUE",
      description = "Extra Spark setting (repeatable).")
  public Map<String, String> conf = new LinkedHashMap<>();

  @Option(
      names = {"-v", "--verbose"},
      description = "Show Spark's INFO logs and full stack traces.")
  public boolean verbose;
}
