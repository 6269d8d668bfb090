package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster (a master and two workers, separate JVMs, started by scripts/cluster from this
 * build's jars): clean and tokenize run on it unchanged, give the same results as embedded runs, and survive a
 * worker killed mid-job.
 */
class StandaloneClusterTest {
  @TempDir
  static Path tmp;
  static Path clusterDir;
  static int port;

  static String run(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", Path.of("..", "scripts", "cluster").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SPARKGPT_CLUSTER_DIR", clusterDir.toString());
    pb.environment().put("SPARKGPT_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "scripts/cluster " + String.join(" ", args) + " hung");
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
    port = freePort();
    run("start", "--workers", "2", "--cores", "1", "--memory", "2g", "--port", "" + port, "--webui-port",
        "" + freePort());
  }

  @AfterAll
  static void stop() throws Exception {
    run("stop");
  }

  static String[] onCluster(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(1, List.of("--master", "spark://127.0.0.1:" + port,
        // The build's classes are not in a jar yet during tests: executors read them from the same host.
        "--conf", "spark.executor.extraClassPath=" + System.getProperty("java.class.path"),
        "--conf", "spark.executor.memory=1500m"));
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
  void jobsRunOnTheClusterAndSurviveALostWorker() throws Exception {
    Path corpus = Path.of(System.getProperty("sparkgpt.corpus", "../../shared/corpus"));
    String input = Path.of("..", "sample").toAbsolutePath().normalize() + ","
        + corpus.resolve("code").toAbsolutePath().normalize();
    Path reference = tmp.resolve("embedded");
    Cli.Result ref = Cli.run("clean", "--master", "local[2]", "-i", input, "-o", reference.toString(),
        "--output-format", "jsonl");
    assertEquals(0, ref.code(), ref.err());

    // Kill worker 2 (and its executor) once its executor has started: the job must still finish, the same.
    long[] killedAt = {0};
    Thread killer = new Thread(() -> {
      try {
        Path work = clusterDir.resolve("work-2");
        while (!hasExecutor(work)) {
          Thread.sleep(100);
        }
        Thread.sleep(4000);
        run("remove-worker", "2");
        killedAt[0] = System.nanoTime();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    killer.start();
    Path out = tmp.resolve("cluster-out");
    Cli.Result r = Cli.run(onCluster("clean", "-i", input, "-o", out.toString(), "--output-format", "jsonl"));
    long finishedAt = System.nanoTime();
    killer.join(TimeUnit.SECONDS.toMillis(120));
    assertEquals(0, r.code(), r.err());
    assertTrue(killedAt[0] > 0 && killedAt[0] < finishedAt, "worker 2 was killed while the job ran");
    assertEquals(keptIds(reference), keptIds(out), "same survivors as the embedded run");
    assertTrue(run("status").contains("worker-1: pid"), "worker 1 still up");

    // tokenize on the remaining worker gives the shards of an embedded run, byte for byte.
    Path dsCluster = tmp.resolve("ds-cluster");
    Path dsLocal = tmp.resolve("ds-local");
    String[] common = {"-i", reference.toString(), "-t", "r50k_base", "--seq-len", "128", "--shard-tokens", "200000"};
    List<String> a = new ArrayList<>(List.of("tokenize", "-o", dsCluster.toString()));
    a.addAll(List.of(common));
    assertEquals(0, Cli.run(onCluster(a.toArray(String[]::new))).code());
    List<String> b = new ArrayList<>(List.of("tokenize", "--master", "local[2]", "-o", dsLocal.toString()));
    b.addAll(List.of(common));
    assertEquals(0, Cli.run(b.toArray(String[]::new)).code());
    assertEquals(hashes(TokenDataset.open(dsLocal).manifest()), hashes(TokenDataset.open(dsCluster).manifest()));

    run("add-worker", "--cores", "1", "--memory", "1g");
    assertTrue(run("status").contains("worker-2: pid"), "a worker can be added back");
  }

  static boolean hasExecutor(Path work) throws IOException {
    if (!Files.isDirectory(work)) {
      return false;
    }
    try (Stream<Path> s = Files.walk(work, 3)) {
      return s.anyMatch(p -> p.getFileName().toString().equals("stderr"));
    }
  }

  static TreeMap<String, String> hashes(Manifest m) {
    TreeMap<String, String> h = new TreeMap<>();
    m.splits().values().forEach(sp -> sp.shards().forEach(s -> h.put(s.file(), s.sha256())));
    return h;
  }
}
