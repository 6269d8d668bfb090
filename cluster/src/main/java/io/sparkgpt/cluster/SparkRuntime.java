package io.sparkgpt.cluster;

import io.sparkgpt.model.SystemBlas;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Starts the Spark session every job runs in: embedded on {@code local[*]} when no master is given,
 * or on the cluster named by {@code --master} / spark-submit. The job code is the same in both
 * cases.
 */
public final class SparkRuntime {
  /** JVM options Spark needs on Java 17; the launcher passes the same set to the driver JVM. */
  public static final String JAVA17_OPTIONS =
      String.join(
          " ",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
          "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
          "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
          "-Djdk.reflect.useDirectMethodHandle=false");

  /**
   * Libraries such as Lingua run their work on ForkJoinPool.commonPool(), whose default parallelism
   * is cores - 1: one thread on a 2-core machine, which would serialise all Spark task threads
   * behind it.
   */
  public static final String COMMON_POOL_PARALLELISM =
      "-Djava.util.concurrent.ForkJoinPool.common.parallelism=32";

  private SparkRuntime() {}

  /**
   * Applies {@link #COMMON_POOL_PARALLELISM} in this JVM; effective only before the common pool is
   * first used.
   */
  public static void widenCommonPool() {
    if (System.getProperty("java.util.concurrent.ForkJoinPool.common.parallelism") == null) {
      System.setProperty("java.util.concurrent.ForkJoinPool.common.parallelism", "32");
    }
  }

  /** Spark's INFO logging is noise for a command-line user; {@code verbose} brings it back. */
  public static void quietLogs(boolean verbose) {
    Level level = verbose ? Level.INFO : Level.WARN;
    Configurator.setRootLevel(level);
    Configurator.setLevel("org.apache.spark", level);
    // Harmless warnings that every embedded run would print otherwise.
    Configurator.setLevel("org.apache.hadoop.util.NativeCodeLoader", Level.ERROR);
    Configurator.setLevel("org.apache.spark.util.Utils", verbose ? Level.INFO : Level.ERROR);
    Configurator.setLevel(
        "org.apache.hadoop.io.compress.CodecPool", verbose ? Level.INFO : Level.WARN);
    Configurator.setLevel("org.apache.parquet", verbose ? Level.INFO : Level.ERROR);
    // ND4J's start-up warnings about its own op tables.
    Configurator.setLevel(
        "org.nd4j.imports.converters.ImportClassMapping", verbose ? Level.INFO : Level.ERROR);
    Configurator.setLevel(
        "org.nd4j.autodiff.functions.DifferentialFunction", verbose ? Level.INFO : Level.ERROR);
    // A failing task's stack trace is logged by the executor and again by the scheduler; the job's
    // own
    // one-line error says what went wrong, and --verbose shows the traces.
    Configurator.setLevel("org.apache.spark.executor.Executor", verbose ? Level.INFO : Level.OFF);
    Configurator.setLevel(
        "org.apache.spark.scheduler.TaskSetManager", verbose ? Level.INFO : Level.ERROR);
  }

  /**
   * @param master null for embedded {@code local[*]} (unless spark-submit already chose one)
   * @param extraConf user {@code --conf key=value} settings, applied last
   */
  public static SparkSession start(
      String appName, String master, boolean verbose, Map<String, String> extraConf) {
    quietLogs(verbose);
    SparkConf conf = new SparkConf(true).setAppName(appName);
    if (master != null) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    boolean local = conf.get("spark.master").startsWith("local");
    conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    conf.setIfMissing("spark.kryoserializer.buffer.max", "1g");
    conf.setIfMissing("spark.ui.showConsoleProgress", "false"); // we print our own progress line
    conf.setIfMissing("spark.sql.parquet.compression.codec", "zstd");
    if (local) {
      conf.setIfMissing("spark.ui.enabled", "false");
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    } else {
      conf.setIfMissing(
          "spark.executor.extraJavaOptions", JAVA17_OPTIONS + " " + COMMON_POOL_PARALLELISM);
      String appJar = System.getProperty("sparkgpt.app.jar");
      if (appJar != null && !conf.contains("spark.jars")) {
        conf.set(
            "spark.jars", appJar); // executors need our classes when the launcher is the driver
      }
    }
    extraConf.forEach(conf::set);
    if (!local) { // executors load ND4J's OpenBLAS as the driver chose it
      String opts = "spark.executor.extraJavaOptions";
      String withBlas = SystemBlas.withChoice(conf.get(opts, ""));
      if (!withBlas.isEmpty()) {
        conf.set(opts, withBlas);
      }
    }
    SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
    spark.sparkContext().setLogLevel(verbose ? "INFO" : "WARN");
    return spark;
  }
}
