package io.sparkgpt.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Checks inputs and outputs before Spark starts, so that a mistake costs a second, not a session
 * start.
 */
public final class Preflight {
  private Preflight() {}

  /**
   * The inputs and outputs of one command, checked to be apart: an output that equals or contains
   * an input would be deleted by --overwrite (or replaced by the job), and one inside an input
   * directory would be read back as input by the next run. Every command that reads inputs and
   * writes an output calls {@link #check} (through {@code Inputs.preflight} for input files) before
   * it deletes or writes anything. Paths are compared fully qualified, with symbolic links of local
   * paths resolved.
   */
  public static final class Paths {
    private record Named(String flag, String path, String canonical) {}

    private final Configuration conf = new Configuration();
    private final List<Named> inputs = new ArrayList<>();
    private final List<Named> outputs = new ArrayList<>();

    /**
     * An input file or directory; null and names that are not paths (r50k_base, globs) are skipped.
     */
    public Paths input(String flag, String path) throws IOException {
      if (path != null && !isGlob(path)) {
        inputs.add(new Named(flag, path, canonical(path)));
      }
      return this;
    }

    public Paths inputs(String flag, List<String> paths) throws IOException {
      for (String p : paths) {
        input(flag, p);
      }
      return this;
    }

    /** An output file or directory; null is skipped. */
    public Paths output(String flag, String path) throws IOException {
      if (path != null) {
        outputs.add(new Named(flag, path, canonical(path)));
      }
      return this;
    }

    /**
     * @throws UserError (one line, naming both flags and paths) when an output overlaps an input
     */
    public void check() {
      for (Named o : outputs) {
        for (Named i : inputs) {
          if (within(i.canonical, o.canonical)) {
            throw new UserError(
                o.flag
                    + " "
                    + o.path
                    + (i.canonical.equals(o.canonical) ? " is" : " contains")
                    + " the input "
                    + i.path
                    + " ("
                    + i.flag
                    + "); writing it would destroy the input: choose an "
                    + o.flag
                    + " outside the inputs");
          }
          if (within(o.canonical, i.canonical)) {
            throw new UserError(
                o.flag
                    + " "
                    + o.path
                    + " lies inside the input "
                    + i.path
                    + " ("
                    + i.flag
                    + "); it would be read back as input: choose an "
                    + o.flag
                    + " outside the inputs");
          }
        }
      }
    }

    private static boolean isGlob(String path) {
      return path.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    private static boolean within(String path, String dir) {
      return path.equals(dir) || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
    }

    /**
     * The qualified URI; for local paths with the symbolic links of its longest existing ancestor
     * resolved.
     */
    private String canonical(String path) throws IOException {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      Path q = fs.makeQualified(p);
      if (!"file".equals(q.toUri().getScheme())) {
        return q.toString();
      }
      java.nio.file.Path local = java.nio.file.Path.of(q.toUri()).normalize();
      java.nio.file.Path existing = local;
      while (existing != null && !java.nio.file.Files.exists(existing)) {
        existing = existing.getParent();
      }
      if (existing != null) {
        local = existing.toRealPath().resolve(existing.relativize(local));
      }
      return local.toString();
    }
  }
}
