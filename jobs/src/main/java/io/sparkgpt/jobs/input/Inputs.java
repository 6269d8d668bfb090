package io.sparkgpt.jobs.input;

import io.sparkgpt.jobs.Outputs;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.UserError;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Expands --input arguments (files, directories, globs, on any Hadoop file system) into typed input
 * files.
 */
public final class Inputs {
  public enum Format {
    TEXT,
    JSONL,
    PARQUET
  }

  /**
   * @param name the file's path below the input argument that found it, starting with that
   *     argument's last component ({@code corpus/prose_en/a.txt} for {@code --input /data/corpus}):
   *     document ids are keyed by it, so the same files give the same ids, splits and samples
   *     wherever they lie.
   */
  public record InputFile(String path, String name, Format format, long size) {}

  private Inputs() {}

  /**
   * Checks inputs and outputs before Spark starts, so that a mistake costs a second, not a session
   * start.
   *
   * @param flagsAndPaths pairs of (flag, path) for every output the job will write; null paths are
   *     ignored
   * @throws UserError when an input is missing, an output exists without --overwrite, or an output
   *     overlaps an input ({@link Preflight.Paths#check})
   */
  public static void preflight(
      List<String> inputs, Format format, boolean overwrite, String... flagsAndPaths)
      throws IOException {
    Configuration conf = new Configuration();
    Preflight.Paths paths = new Preflight.Paths().inputs("--input", inputs);
    for (InputFile f : expand(conf, inputs, format)) {
      paths.input("--input", f.path());
    }
    Outputs outputs = new Outputs(conf, overwrite);
    for (int i = 0; i + 1 < flagsAndPaths.length; i += 2) {
      paths.output(flagsAndPaths[i], flagsAndPaths[i + 1]);
    }
    paths.check();
    for (int i = 0; i + 1 < flagsAndPaths.length; i += 2) {
      if (flagsAndPaths[i + 1] != null) {
        outputs.checkWritable(flagsAndPaths[i + 1], flagsAndPaths[i]);
      }
    }
  }

  /**
   * @param forced null to decide by extension: .jsonl/.json/.ndjson are JSONL, .parquet is Parquet,
   *     anything else is text; .gz/.zst/.bz2/.deflate suffixes are compression and ignored for
   *     this.
   */
  public static List<InputFile> expand(Configuration conf, List<String> args, Format forced)
      throws IOException {
    List<InputFile> files = new ArrayList<>();
    for (String arg : args) {
      Path p = new Path(arg);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus[] matches = fs.globStatus(p);
      if (matches == null || matches.length == 0) {
        throw new UserError("input not found: " + arg);
      }
      for (FileStatus m : matches) {
        collect(fs, m, m.getPath().getName(), files, forced);
      }
    }
    if (files.isEmpty()) {
      throw new UserError("no input files under " + String.join(", ", args));
    }
    files.sort(java.util.Comparator.comparing(InputFile::path));
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0;
        i < files.size();
        i++) { // two arguments may end in the same name: number the repeats
      InputFile f = files.get(i);
      int n = seen.merge(f.name(), 1, Integer::sum);
      if (n > 1) {
        files.set(i, new InputFile(f.path(), f.name() + "#" + n, f.format(), f.size()));
      }
    }
    return files;
  }

  private static void collect(
      FileSystem fs, FileStatus st, String name, List<InputFile> out, Format forced)
      throws IOException {
    String base = st.getPath().getName();
    if (base.startsWith(".") || base.startsWith("_")) {
      return; // hidden, _SUCCESS, _temporary, .crc
    }
    if (st.isDirectory()) {
      for (FileStatus child : fs.listStatus(st.getPath())) {
        collect(fs, child, name + "/" + child.getPath().getName(), out, forced);
      }
    } else {
      out.add(
          new InputFile(
              st.getPath().toString(),
              name,
              forced != null ? forced : formatOf(base),
              st.getLen()));
    }
  }

  public static Format formatOf(String name) {
    String base = stripCompression(name.toLowerCase(Locale.ROOT));
    if (base.endsWith(".jsonl") || base.endsWith(".json") || base.endsWith(".ndjson")) {
      return Format.JSONL;
    }
    if (base.endsWith(".parquet")) {
      return Format.PARQUET;
    }
    return Format.TEXT;
  }

  public static String stripCompression(String name) {
    for (String suffix : new String[] {".gz", ".zst", ".bz2", ".deflate"}) {
      if (name.endsWith(suffix)) {
        return name.substring(0, name.length() - suffix.length());
      }
    }
    return name;
  }
}
