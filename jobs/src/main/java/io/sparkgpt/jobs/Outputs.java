package io.sparkgpt.jobs;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Atomic job outputs: everything is written under hidden ".NAME.inprogress" paths next to the
 * targets and renamed into place only when the whole job has succeeded, the main output last. A
 * killed job leaves only in-progress paths, which the next run removes, never an output that looks
 * complete.
 */
public final class Outputs {
  private record Pending(FileSystem fs, Path target, Path tmp) {}

  private final Configuration conf;
  private final boolean overwrite;
  private final List<Pending> pending = new ArrayList<>();

  public Outputs(Configuration conf, boolean overwrite) {
    this.conf = conf;
    this.overwrite = overwrite;
  }

  /** Fails with a one-line user error when target exists and may not be replaced. */
  public void checkWritable(String target, String flag) throws IOException {
    Path t = new Path(target);
    if (!overwrite && t.getFileSystem(conf).exists(t)) {
      throw new UserError(flag + " already exists: " + target + " (use --overwrite to replace it)");
    }
  }

  /** Checks that target may be written and returns the temporary path to write it under. */
  public String claim(String target, String flag) throws IOException {
    checkWritable(target, flag);
    Path t = new Path(target);
    FileSystem fs = t.getFileSystem(conf);
    Path tmp =
        new Path(
            t.getParent() == null ? new Path(".") : t.getParent(),
            "." + t.getName() + ".inprogress");
    fs.delete(tmp, true); // left over from a killed run
    pending.add(new Pending(fs, t, tmp));
    return tmp.toString();
  }

  public void writeString(String tmp, String content) throws IOException {
    writeBytes(tmp, content.getBytes(StandardCharsets.UTF_8));
  }

  public void writeBytes(String tmp, byte[] content) throws IOException {
    Path p = new Path(tmp);
    try (OutputStream out = p.getFileSystem(conf).create(p, true)) {
      out.write(content);
    }
  }

  /**
   * Renames every claimed output into place, in claim order; call it with the main output claimed
   * last.
   */
  public void commit() throws IOException {
    for (Pending p : pending) {
      if (p.fs.exists(p.target)) {
        p.fs.delete(p.target, true);
      }
      if (p.target.getParent() != null) {
        p.fs.mkdirs(p.target.getParent());
      }
      if (!p.fs.rename(p.tmp, p.target)) {
        throw new IOException("could not rename " + p.tmp + " to " + p.target);
      }
    }
    pending.clear();
  }

  /** Removes the temporary outputs of a failed run. */
  public void abort() {
    for (Pending p : pending) {
      try {
        p.fs.delete(p.tmp, true);
      } catch (IOException ignored) {
        // best effort: the next run removes it too
      }
    }
    pending.clear();
  }
}
