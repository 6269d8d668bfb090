package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.tokenizer.Corpus;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster (a master and two workers, separate JVMs, started by
 * scripts/cluster from this build's jars): clean, tokenize and pretrain run on it unchanged,
 * through --master and through spark-submit, give the same results as embedded runs, and survive a
 * worker killed mid-job.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterTest {
  @TempDir static Path tmp;
  static Path clusterDir;
  static Path gpuStub;
  static int port;

  static String run(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of("bash", Path.of("..", "scripts", "cluster").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SPARKGPT_CLUSTER_DIR", clusterDir.toString());
    pb.environment().put("SPARKGPT_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("SPARKGPT_GPU_DISCOVERY", gpuStub.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(
        p.waitFor(120, TimeUnit.SECONDS), "scripts/cluster " + String.join(" ", args) + " hung");
    assertEquals(0, p.exitValue(), "scripts/cluster " + String.join(" ", args) + ": " + out);
    return out;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @BeforeAll
  static void start() throws Exception {
    clusterDir = tmp.resolve("cluster");
    // A stub GPU discovery script: each worker offers one "GPU", so Spark's GPU scheduling runs on
    // a CPU host.
    gpuStub = tmp.resolve("stub-gpus.sh");
    Files.writeString(gpuStub, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\"]}'\n");
    gpuStub.toFile().setExecutable(true);
    port = freePort();
    run(
        "start",
        "--workers",
        "2",
        "--cores",
        "1",
        "--memory",
        "2g",
        "--gpus",
        "1",
        "--port",
        "" + port,
        "--webui-port",
        "" + freePort());
  }

  @AfterAll
  static void stop() throws Exception {
    run("stop");
  }

  static String[] onCluster(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(
        1,
        List.of(
            "--master",
            "spark://127.0.0.1:" + port,
            // The build's classes are not in a jar yet during tests: executors read them from the
            // same host.
            "--conf",
            "spark.executor.extraClassPath=" + System.getProperty("java.class.path"),
            "--conf",
            "spark.executor.memory=1500m"));
    return all.toArray(String[]::new);
  }

  static Set<String> keptIds(Path dir) throws IOException {
    Set<String> ids = new TreeSet<>();
    ObjectMapper m = new ObjectMapper();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        for (String line : Files.readAllLines(f)) {
          ids.add(m.readTree(line).get("id").asText());
        }
      }
    }
    return ids;
  }

  @Test
  @Order(1)
  void jobsRunOnTheClusterAndSurviveALostWorker() throws Exception {
    Path corpus = Corpus.dir();
    String input =
        Path.of("..", "sample").toAbsolutePath().normalize()
            + ","
            + corpus.resolve("code").toAbsolutePath().normalize();
    Path reference = tmp.resolve("embedded");
    Cli.Result ref =
        Cli.run(
            "clean",
            "--master",
            "local[2]",
            "-i",
            input,
            "-o",
            reference.toString(),
            "--output-format",
            "jsonl");
    assertEquals(0, ref.code(), ref.err());

    // Kill worker 2 (and its executor) once its executor has finished a task of the job: the job
    // must still
    // finish, the same. The driver runs in this JVM, so a listener on its context sees every task
    // end.
    long[] killedAt = {0};
    Thread killer =
        new Thread(
            () -> {
              try {
                Set<String> executorsWithTasksDone = ConcurrentHashMap.newKeySet();
                SparkContext sc = null;
                for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                    sc == null;
                    Thread.sleep(10)) {
                  scala.Option<SparkSession> session = SparkSession.getDefaultSession();
                  sc =
                      session.isDefined() && !session.get().sparkContext().isStopped()
                          ? session.get().sparkContext()
                          : null;
                  assertTrue(
                      System.nanoTime() < deadline, "the clean job started no Spark context");
                }
                sc.addSparkListener(
                    new SparkListener() {
                      @Override
                      public void onTaskEnd(SparkListenerTaskEnd end) {
                        executorsWithTasksDone.add(end.taskInfo().executorId());
                      }
                    });
                Path work = clusterDir.resolve("work-2");
                String executor;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while ((executor = executorId(work)) == null
                    || !executorsWithTasksDone.contains(executor)) {
                  assertTrue(System.nanoTime() < deadline, "no task ended on worker 2's executor");
                  Thread.sleep(20);
                }
                run("remove-worker", "2");
                killedAt[0] = System.nanoTime();
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    killer.start();
    Path out = tmp.resolve("cluster-out");
    Cli.Result r =
        Cli.run(onCluster("clean", "-i", input, "-o", out.toString(), "--output-format", "jsonl"));
    long finishedAt = System.nanoTime();
    killer.join(TimeUnit.SECONDS.toMillis(120));
    assertEquals(0, r.code(), r.err());
    assertTrue(
        killedAt[0] > 0 && killedAt[0] < finishedAt, "worker 2 was killed while the job ran");
    assertEquals(keptIds(reference), keptIds(out), "same survivors as the embedded run");
    assertTrue(run("status").contains("worker-1: pid"), "worker 1 still up");

    // tokenize on the remaining worker gives the shards of an embedded run, byte for byte.
    Path dsCluster = tmp.resolve("ds-cluster");
    Path dsLocal = tmp.resolve("ds-local");
    String[] common = {
      "-i", reference.toString(), "-t", "r50k_base", "--seq-len", "128", "--shard-tokens", "200000"
    };
    List<String> a = new ArrayList<>(List.of("tokenize", "-o", dsCluster.toString()));
    a.addAll(List.of(common));
    assertEquals(0, Cli.run(onCluster(a.toArray(String[]::new))).code());
    List<String> b =
        new ArrayList<>(List.of("tokenize", "--master", "local[2]", "-o", dsLocal.toString()));
    b.addAll(List.of(common));
    assertEquals(0, Cli.run(b.toArray(String[]::new)).code());
    assertEquals(
        hashes(TokenDataset.open(dsLocal).manifest()),
        hashes(TokenDataset.open(dsCluster).manifest()));

    // The same job through spark-submit (client mode, the driver in spark-submit's JVM): the same
    // shards.
    Path dsSubmit = tmp.resolve("ds-submit");
    List<String> c = new ArrayList<>(List.of("tokenize", "-o", dsSubmit.toString()));
    c.addAll(List.of(common));
    assertEquals("", sparkSubmit(c));
    assertEquals(
        hashes(TokenDataset.open(dsLocal).manifest()),
        hashes(TokenDataset.open(dsSubmit).manifest()));

    run("add-worker", "--cores", "1", "--memory", "2g", "--gpus", "1");
    assertTrue(run("status").contains("worker-2: pid"), "a worker can be added back");
  }

  /**
   * tokenize and pretrain on the cluster with one (stub) GPU per executor and per task; worker 2 is
   * killed after three rounds: Spark reruns its part on worker 1, no round is averaged over one
   * worker only, and the run ends with the same parameters as an embedded run without failures, in
   * a checkpoint that loads and generates.
   */
  @Test
  @Order(2)
  void pretrainOnGpuScheduledExecutorsSurvivesALostWorker() throws Exception {
    Path corpus = Corpus.dir();
    String text = corpus.resolve("prose_en/tinyshakespeare.txt").toString();
    Path tok = tmp.resolve("tokenizer.json");
    Cli.Result t =
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            text,
            "--doc-split",
            "blank-line",
            "-o",
            tok.toString(),
            "--vocab-size",
            "512");
    assertEquals(0, t.code(), t.err());
    Path data = tmp.resolve("ds-pretrain");
    Cli.Result d =
        Cli.run(
            onCluster(
                "tokenize",
                "-i",
                text,
                "--doc-split",
                "blank-line",
                "-t",
                tok.toString(),
                "-o",
                data.toString(),
                "--seq-len",
                "64",
                "--val-fraction",
                "0.05"));
    assertEquals(0, d.code(), d.err());

    Path run = tmp.resolve("run");
    long[] killedAt = {0};
    Thread killer =
        new Thread(
            () -> {
              try {
                Path metrics = run.resolve("metrics.jsonl");
                while (!Files.exists(metrics)
                    || Files.readAllLines(metrics).stream()
                            .filter(l -> l.contains("\"loss\""))
                            .count()
                        < 3) {
                  Thread.sleep(100);
                }
                run("remove-worker", "2");
                killedAt[0] = System.nanoTime();
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    killer.start();
    String[] pretrain = {
      "pretrain",
      "--data",
      data.toString(),
      "--output",
      run.toString(),
      "--block-size",
      "64",
      "--d-model",
      "64",
      "--layers",
      "2",
      "--heads",
      "2",
      "--workers",
      "2",
      "--averaging-every",
      "2",
      "--batch-size",
      "8",
      "--steps",
      "24",
      "--warmup",
      "4",
      "--lr",
      "3e-3",
      "--eval-every",
      "4",
      "--eval-batches",
      "4",
      "--checkpoint-every",
      "2",
      "--conf",
      "spark.executor.resource.gpu.amount=1",
      "--conf",
      "spark.task.resource.gpu.amount=1"
    };
    Cli.Result r = Cli.run(onCluster(pretrain));
    long finishedAt = System.nanoTime();
    killer.join(TimeUnit.SECONDS.toMillis(120));
    assertEquals(0, r.code(), r.err());
    r.err()
        .lines()
        .filter(l -> l.startsWith("workers placed") || l.startsWith("round "))
        .forEach(System.out::println);
    assertTrue(
        killedAt[0] > 0 && killedAt[0] < finishedAt, "worker 2 was killed while training ran");
    assertTrue(r.out().contains("steps 0..24, 12 rounds"), r.out());
    assertTrue(r.err().contains("gpu 0"), "tasks got Spark's GPU assignment: " + r.err());
    List<Double> losses = new ArrayList<>();
    ObjectMapper m = new ObjectMapper();
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
      if (line.contains("\"loss\"")) {
        losses.add(m.readTree(line).get("loss").asDouble());
      }
    }
    assertEquals(12, losses.size(), "every round logged once");
    assertTrue(losses.get(11) < losses.get(0) - 0.5, "loss fell: " + losses);
    Checkpoint done = Checkpoint.load(run.resolve("checkpoint"));
    assertEquals(24, done.optimizer().step);

    // A worker's result depends only on (state, round, worker), so the recomputed rounds changed
    // nothing: the
    // parameters equal those of the same run embedded without any failure, up to float rounding
    // (the executor
    // JVMs' BLAS and the embedded one's round differently; measured max difference 3e-6).
    Path embedded = tmp.resolve("run-embedded");
    String[] local = pretrain.clone();
    local[4] = embedded.toString();
    List<String> l = new ArrayList<>(List.of(local).subList(0, local.length - 4));
    l.addAll(List.of("--master", "local[2]"));
    Cli.Result e = Cli.run(l.toArray(String[]::new));
    assertEquals(0, e.code(), e.err());
    Checkpoint ref = Checkpoint.load(embedded.resolve("checkpoint"));
    double maxDiff = 0;
    for (var entry : ref.params().entrySet()) {
      float[] x = entry.getValue().data().asFloat();
      float[] y = done.params().get(entry.getKey()).data().asFloat();
      assertEquals(x.length, y.length);
      for (int i = 0; i < x.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
      }
    }
    System.out.println(
        "cluster run with a lost worker vs embedded run: max parameter difference " + maxDiff);
    assertTrue(maxDiff < 1e-4, "max parameter difference " + maxDiff);
    Cli.Result g =
        Cli.run(
            "generate",
            "--checkpoint",
            run.resolve("checkpoint").toString(),
            "--prompt",
            "ROMEO:",
            "--max-new-tokens",
            "10",
            "--temperature",
            "0");
    assertEquals(0, g.code(), g.err());
    assertTrue(g.out().startsWith("ROMEO:") && g.out().length() > 8, g.out());
  }

  /**
   * Runs {@code spark-submit --class io.sparkgpt.jobs.SparkGpt APP_JAR args} against the cluster,
   * as a separate JVM ({@code org.apache.spark.deploy.SparkSubmit}, what the spark-submit script
   * runs). The application jar holds the jobs module's classes; the other modules and libraries
   * come from this JVM's class path, as a Spark installation's jars/ folder would provide them.
   * Returns "" on success, else the output.
   */
  static String sparkSubmit(List<String> args) throws Exception {
    Path appJar = tmp.resolve("sparkgpt-jobs-app.jar");
    if (!Files.exists(appJar)) {
      Path classes = Path.of("target", "classes");
      try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(appJar));
          Stream<Path> files = Files.walk(classes)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          out.putNextEntry(
              new java.util.jar.JarEntry(classes.relativize(f).toString().replace('\\', '/')));
          Files.copy(f, out);
          out.closeEntry();
        }
      }
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect"))
        .forEach(cmd::add);
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            "org.apache.spark.deploy.SparkSubmit",
            "--master",
            "spark://127.0.0.1:" + port,
            "--deploy-mode",
            "client",
            "--class",
            "io.sparkgpt.jobs.SparkGpt",
            "--conf",
            "spark.executor.extraClassPath=" + System.getProperty("java.class.path"),
            "--conf",
            "spark.executor.memory=1500m",
            appJar.toString()));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "spark-submit hung");
    return p.exitValue() == 0 ? "" : out;
  }

  /**
   * The id of the executor a worker started (its folder {@code work/app-.../ID/stderr}), or null
   * before.
   */
  static String executorId(Path work) throws IOException {
    if (!Files.isDirectory(work)) {
      return null;
    }
    try (Stream<Path> s = Files.walk(work, 3)) {
      return s.filter(p -> p.getFileName().toString().equals("stderr"))
          .map(p -> p.getParent().getFileName().toString())
          .findFirst()
          .orElse(null);
    }
  }

  static TreeMap<String, String> hashes(Manifest m) {
    TreeMap<String, String> h = new TreeMap<>();
    m.splits().values().forEach(sp -> sp.shards().forEach(s -> h.put(s.file(), s.sha256())));
    return h;
  }
}
