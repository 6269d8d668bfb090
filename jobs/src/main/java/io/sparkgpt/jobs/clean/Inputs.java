package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.UserError;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Expands --input arguments (files, directories, globs, on any Hadoop file system) into typed input files. */
public final class Inputs {
  public enum Format { TEXT, JSONL, PARQUET }

  public record InputFile(String path, Format format, long size) {}

  private Inputs() {}

  /**
   * @param forced null to decide by extension: .jsonl/.json/.ndjson are JSONL, .parquet is Parquet, anything
   *     else is text; .gz/.zst/.bz2/.deflate suffixes are compression and ignored for this.
   */
  public static List<InputFile> expand(Configuration conf, List<String> args, Format forced) throws IOException {
    List<InputFile> files = new ArrayList<>();
    for (String arg : args) {
      Path p = new Path(arg);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus[] matches = fs.globStatus(p);
      if (matches == null || matches.length == 0) {
        throw new UserError("input not found: " + arg);
      }
      for (FileStatus m : matches) {
        collect(fs, m, files, forced);
      }
    }
    if (files.isEmpty()) {
      throw new UserError("no input files under " + String.join(", ", args));
    }
    files.sort(java.util.Comparator.comparing(InputFile::path));
    return files;
  }

  private static void collect(FileSystem fs, FileStatus st, List<InputFile> out, Format forced) throws IOException {
    String name = st.getPath().getName();
    if (name.startsWith(".") || name.startsWith("_")) {
      return; // hidden, _SUCCESS, _temporary, .crc
    }
    if (st.isDirectory()) {
      for (FileStatus child : fs.listStatus(st.getPath())) {
        collect(fs, child, out, forced);
      }
    } else {
      out.add(new InputFile(st.getPath().toString(), forced != null ? forced : formatOf(name), st.getLen()));
    }
  }

  static Format formatOf(String name) {
    String base = stripCompression(name.toLowerCase(Locale.ROOT));
    if (base.endsWith(".jsonl") || base.endsWith(".json") || base.endsWith(".ndjson")) {
      return Format.JSONL;
    }
    if (base.endsWith(".parquet")) {
      return Format.PARQUET;
    }
    return Format.TEXT;
  }

  static String stripCompression(String name) {
    for (String suffix : new String[] {".gz", ".zst", ".bz2", ".deflate"}) {
      if (name.endsWith(suffix)) {
        return name.substring(0, name.length() - suffix.length());
      }
    }
    return name;
  }
}
