package io.sparkgpt.tokenizer.dataset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one check for a file name read from a file (a dataset manifest, a checkpoint's {@code latest}
 * pointer, a configuration): it must be a plain relative name of a file inside its folder. A
 * manifest is data, possibly from someone else; a shard named {@code ../../etc/x} or {@code
 * /home/u/x} would make the reader read, and the dataset cache write, outside the folder.
 */
public final class PlainFileName {
  private PlainFileName() {}

  /**
   * Returns {@code name} if it is a plain file name: not empty, no {@code /} or {@code \}, not
   * {@code .} or {@code ..}, no NUL or other control character.
   *
   * @param field names the setting in the message, e.g. {@code manifest.json: shard file}
   * @throws IllegalArgumentException (one line, naming the field) otherwise
   */
  public static String check(String field, String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException(field + ": a file name is required");
    }
    boolean control = name.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
    if (control
        || name.contains("/")
        || name.contains("\\")
        || name.equals(".")
        || name.equals("..")
        || name.contains(":")) {
      throw new IllegalArgumentException(
          field
              + ": '"
              + name.replaceAll("\\p{Cntrl}", "?")
              + "' is not a plain file name inside its folder");
    }
    return name;
  }

  /**
   * {@link #check}s {@code name}, resolves it in {@code dir} and makes sure that the result lies
   * inside {@code dir}, both lexically ({@code normalize()} and {@code startsWith}) and, when the
   * file exists, after following symbolic links (a link to a file outside the folder is refused).
   *
   * @throws IllegalArgumentException (one line, naming the field) for a name that escapes
   */
  public static Path resolve(Path dir, String field, String name) throws IOException {
    check(field, name);
    Path base = dir.toAbsolutePath().normalize();
    Path p = base.resolve(name).normalize();
    if (!p.startsWith(base) || p.equals(base)) {
      throw new IllegalArgumentException(
          field + ": '" + name + "' is not a plain file name inside its folder");
    }
    if (Files.exists(p)) {
      Path real = p.toRealPath();
      if (!real.startsWith(base.toRealPath())) {
        throw new IllegalArgumentException(
            field + ": '" + name + "' is a link to " + real + ", outside its folder " + base);
      }
    }
    return p;
  }
}
