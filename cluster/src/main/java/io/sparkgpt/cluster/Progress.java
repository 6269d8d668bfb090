package io.sparkgpt.cluster;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * A one-line progress report for long Spark work: the current phase, tasks done, records and
 * megabytes read, throughput and elapsed time. Figures come from finished tasks' metrics, so they
 * advance task by task.
 */
public final class Progress extends SparkListener implements AutoCloseable {
  private final SparkContext sc;
  private final PrintStream out;
  private final long startNanos = System.nanoTime();
  private final AtomicReference<String> phase = new AtomicReference<>("starting");
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicInteger tasksDone = new AtomicInteger();
  private final AtomicInteger tasksTotal = new AtomicInteger();
  private final ScheduledExecutorService timer;
  private volatile String lastLine = "";
  private volatile long phaseStartNanos = System.nanoTime();

  public Progress(SparkContext sc, PrintStream out, long periodMillis) {
    this.sc = sc;
    this.out = out;
    sc.addSparkListener(this);
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sparkgpt-progress");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleAtFixedRate(this::print, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
  }

  /** Names what the job is doing now; shown in every progress line until the next call. */
  public void phase(String name) {
    phase.set(name);
    sc.setJobDescription(name);
    // Each phase's input figures are its own.
    records.set(0);
    bytes.set(0);
    phaseStartNanos = System.nanoTime();
  }

  public double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted event) {
    tasksTotal.addAndGet(event.stageInfo().numTasks());
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd event) {
    tasksDone.incrementAndGet();
    TaskMetrics m = event.taskMetrics();
    if (m != null) {
      records.addAndGet(m.inputMetrics().recordsRead());
      bytes.addAndGet(m.inputMetrics().bytesRead());
    }
  }

  private void print() {
    String line = line();
    if (!line.equals(lastLine)) {
      lastLine = line;
      out.println(line);
    }
  }

  private String line() {
    double s = (System.nanoTime() - phaseStartNanos) / 1e9;
    double mb = bytes.get() / 1e6;
    String input =
        mb > 0
            ? String.format(
                Locale.ROOT,
                ", read %,d records, %.1f MB (%.2f MB/s)",
                records.get(),
                mb,
                s > 0 ? mb / s : 0.0)
            : "";
    return String.format(
        Locale.ROOT,
        "[%s] %s: tasks %d/%d%s",
        clock(elapsedSeconds()),
        phase.get(),
        tasksDone.get(),
        tasksTotal.get(),
        input);
  }

  static String clock(double seconds) {
    long t = (long) seconds;
    return String.format(Locale.ROOT, "%02d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    sc.removeSparkListener(this);
  }
}
