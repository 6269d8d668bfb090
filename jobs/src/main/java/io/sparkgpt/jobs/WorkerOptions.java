package io.sparkgpt.jobs;

import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.model.Trainer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Spark side of every distributed trainer ({@code pretrain}, {@code sft}, {@code train-reward},
 * {@code dpo}, {@code ppo}): how many workers, their threads, and the one way such a job starts
 * Spark.
 */
public final class WorkerOptions {
  @Option(
      names = "--workers",
      defaultValue = "2",
      paramLabel = "N",
      description = "Data-parallel workers (default: ${DEFAULT-VALUE}).")
  public int workers;

  @Option(
      names = "--threads",
      defaultValue = "0",
      paramLabel = "N",
      description =
          "ND4J threads per task (0 = executor cores / tasks per executor, i.e. spark.task.cpus, default 1).")
  public int threads;

  @Mixin public SparkOptions spark;

  /** ND4J threads in each task: --threads, else spark.task.cpus. */
  public int threadsPerTask() {
    return threads > 0
        ? threads
        : Integer.parseInt(
            spark.conf.getOrDefault("spark.task.cpus", System.getProperty("spark.task.cpus", "1")));
  }

  /**
   * Starts Spark for training: embedded, one concurrent task per worker ({@code local[N]}) unless
   * --master or spark-submit chose a master; executors get OMP_NUM_THREADS and {@link
   * Trainer#NATIVE_ENV} before ND4J starts (tasks also set ND4J's counts).
   *
   * @param extra settings the job needs unless the user set them (--conf wins)
   */
  public SparkSession start(String app, Map<String, String> extra) {
    SparkRuntime.quietLogs(spark.verbose);
    String master = spark.master;
    if (master == null && System.getProperty("spark.master") == null) {
      master = "local[" + workers + "]";
    }
    Map<String, String> conf = new LinkedHashMap<>(spark.conf);
    conf.putIfAbsent("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(threadsPerTask()));
    Trainer.NATIVE_ENV.forEach((k, v) -> conf.putIfAbsent("spark.executorEnv." + k, v));
    extra.forEach(conf::putIfAbsent);
    return SparkRuntime.start("sparkgpt " + app, master, spark.verbose, conf);
  }
}
