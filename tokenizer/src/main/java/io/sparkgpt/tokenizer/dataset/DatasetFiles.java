package io.sparkgpt.tokenizer.dataset;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The dataset folder as the writers see it: flat file names inside one folder. This is the only
 * storage hook; {@link #local(Path)} implements it for local paths, and a Spark job implements it
 * over a Hadoop {@code FileSystem} in a few lines (see the package documentation).
 *
 * <p>Writers never write a final name directly: they {@link #create} a temporary name (containing
 * {@link #TEMP_MARKER}) and {@link #rename} it once complete, so a final name always holds a
 * complete file.
 */
public interface DatasetFiles {

  /** Part of every temporary file name; such files are never part of a dataset. */
  String TEMP_MARKER = ".tmp-";

  /** Creates (or truncates) the file and opens it for writing. */
  OutputStream create(String name) throws IOException;

  /**
   * Opens the file for reading; throws {@code FileNotFoundException} or {@code NoSuchFileException}
   * if it does not exist.
   */
  InputStream open(String name) throws IOException;

  /** The file's size in bytes, or -1 if it does not exist. */
  long size(String name) throws IOException;

  /**
   * Moves {@code from} to {@code to}, replacing {@code to} if it exists. It should be atomic (a
   * reader sees the old file or the whole new one); on stores where replacing is not,
   * delete-then-rename is acceptable since a file is only replaced by an identical one or one being
   * redone.
   */
  void rename(String from, String to) throws IOException;

  /** Deletes the file if it exists. */
  void delete(String name) throws IOException;

  /** The names of the files in the folder. */
  List<String> list() throws IOException;

  static boolean isTemporary(String name) {
    return name.contains(TEMP_MARKER);
  }

  /**
   * A local folder (created if missing); files are forced to disk on close and renamed with
   * ATOMIC_MOVE.
   */
  static DatasetFiles local(Path dir) throws IOException {
    Files.createDirectories(dir);
    return new Local(dir);
  }

  /** {@link #local} for {@link java.nio.file.Path}s. */
  final class Local implements DatasetFiles {
    private final Path dir;

    Local(Path dir) {
      this.dir = dir;
    }

    public Path dir() {
      return dir;
    }

    private Path resolve(String name) {
      return dir.resolve(PlainFileName.check("dataset file", name));
    }

    @Override
    public OutputStream create(String name) throws IOException {
      FileChannel ch =
          FileChannel.open(
              resolve(name),
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING);
      return new FilterOutputStream(Channels.newOutputStream(ch)) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          try {
            if (ch.isOpen()) {
              ch.force(true);
            }
          } finally {
            super.close();
          }
        }
      };
    }

    @Override
    public InputStream open(String name) throws IOException {
      return Files.newInputStream(resolve(name));
    }

    @Override
    public long size(String name) throws IOException {
      Path p = resolve(name);
      try {
        return Files.size(p);
      } catch (NoSuchFileException e) {
        return -1;
      }
    }

    @Override
    public void rename(String from, String to) throws IOException {
      Files.move(
          resolve(from),
          resolve(to),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void delete(String name) throws IOException {
      Files.deleteIfExists(resolve(name));
    }

    @Override
    public List<String> list() throws IOException {
      List<String> names = new ArrayList<>();
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
      }
      names.sort(null);
      return names;
    }

    @Override
    public String toString() {
      return dir.toString();
    }
  }
}
