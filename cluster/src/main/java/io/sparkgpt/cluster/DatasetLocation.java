package io.sparkgpt.cluster;

import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.PlainFileName;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import scala.Tuple2;

/**
 * Where a token dataset is read from. A plain path ({@code /data/ds}) is used in place: it must be
 * the same path on every executor (a local copy or a shared mount). A URI ({@code hdfs://...},
 * {@code s3a://...}, {@code file:///...}) is read through Hadoop's FileSystem: each JVM copies the
 * manifest, the tokenizer and the shards once into a local cache folder (shards are memory-mapped,
 * which needs local files) and reuses the copy for every later task. The copy is keyed by the URI
 * and the manifest's hash, written under a temporary name and renamed when complete, so a task that
 * dies mid-copy leaves nothing that looks whole.
 */
public final class DatasetLocation {
  private DatasetLocation() {}

  /** Whether {@code location} names a Hadoop file system URI rather than a plain local path. */
  public static boolean isUri(String location) {
    return location.matches("^[A-Za-z][A-Za-z0-9+.-]*:/.*");
  }

  /** The local folder holding the dataset at {@code location} (copied first when it is a URI). */
  public static Path localize(String location, Configuration hadoop, Path cacheRoot)
      throws IOException {
    if (!isUri(location)) {
      return Path.of(location);
    }
    URI uri;
    try {
      uri = new URI(location.endsWith("/") ? location : location + "/");
    } catch (URISyntaxException e) {
      throw new IOException(location + ": not a valid URI: " + e.getMessage());
    }
    FileSystem fs = FileSystem.get(uri, hadoop);
    org.apache.hadoop.fs.Path base = new org.apache.hadoop.fs.Path(uri);
    org.apache.hadoop.fs.Path mfPath = new org.apache.hadoop.fs.Path(base, Manifest.FILE);
    if (!fs.exists(mfPath)) {
      throw new IOException(location + ": no " + Manifest.FILE + " (not a finished dataset)");
    }
    byte[] manifestBytes;
    try (InputStream in = fs.open(mfPath)) {
      manifestBytes = in.readAllBytes();
    }
    Path local = cacheRoot.resolve("dataset-" + sha256(location, manifestBytes));
    if (Files.isRegularFile(local.resolve(Manifest.FILE))) {
      return local;
    }
    Manifest m;
    try (InputStream in = new java.io.ByteArrayInputStream(manifestBytes)) {
      m = Manifest.read(in, location + "/" + Manifest.FILE);
      m.validate(); // among others: every file name is a plain name inside the folder, never ../
      // or absolute
    } catch (IllegalArgumentException e) {
      throw new IOException(location + ": " + e.getMessage(), e);
    }
    List<String> files = new ArrayList<>();
    files.add(m.tokenizer().file());
    for (Manifest.Shard s : m.allShards()) {
      files.add(s.file());
      if (s.idxFile() != null) {
        files.add(s.idxFile());
      }
    }
    Files.createDirectories(cacheRoot);
    Path tmp = cacheRoot.resolve(local.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      Files.createDirectories(tmp);
      for (String f : files) {
        Path target = PlainFileName.resolve(tmp, location + "/" + Manifest.FILE + ": file", f);
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(base, f))) {
          Files.copy(in, target);
        }
      }
      Files.write(
          tmp.resolve(Manifest.FILE),
          manifestBytes); // last: the copy is whole once it has a manifest
      try {
        Files.move(tmp, local, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
        // another task of this JVM or host finished the same copy first; theirs is as good
      }
    } finally {
      deleteTree(tmp);
    }
    return local;
  }

  /**
   * The Hadoop configuration of the running Spark application ({@code spark.hadoop.*} settings
   * applied).
   */
  public static Configuration hadoopConf() {
    Configuration c = new Configuration();
    SparkEnv env = SparkEnv.get();
    if (env != null) {
      for (Tuple2<String, String> kv : env.conf().getAllWithPrefix("spark.hadoop.")) {
        c.set(kv._1(), kv._2());
      }
    }
    return c;
  }

  /** The first of Spark's local directories (scratch space on this host), for the dataset cache. */
  public static Path cacheRoot() {
    SparkEnv env = SparkEnv.get();
    SparkConf conf = env == null ? null : env.conf();
    String dirs = System.getenv("SPARK_LOCAL_DIRS");
    if (dirs == null && conf != null) {
      dirs = conf.get("spark.local.dir", null);
    }
    if (dirs == null) {
      dirs = System.getProperty("java.io.tmpdir");
    }
    return Path.of(dirs.split(",")[0], "sparkgpt-datasets");
  }

  private static String sha256(String location, byte[] manifest) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(location.getBytes(StandardCharsets.UTF_8));
      d.update((byte) 0);
      d.update(manifest);
      return HexFormat.of().formatHex(d.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
