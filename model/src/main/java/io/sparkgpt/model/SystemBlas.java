package io.sparkgpt.model;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which OpenBLAS runs ND4J's matrix products. ND4J bundles bytedeco's OpenBLAS build; the
 * distribution's build of the same version (Debian and Ubuntu's {@code libopenblas0}, which their
 * PyTorch also uses) ran every GEMM shape of a {@code small} step 0-9% faster on this project's
 * machine, and the whole step about 4% faster (model README). So the system OpenBLAS is preferred
 * where it is installed: JavaCPP loads the library that {@code org.bytedeco.openblas.load} names
 * from {@code org.bytedeco.javacpp.platform.preloadpath}, and falls back to the bundled build when
 * it is not there, so a machine without the package (or an executor unlike its driver) still runs.
 *
 * <p>{@link #prefer()} must run before ND4J loads: the launcher's {@code main} calls it, and Spark
 * executors get the same settings in their Java options ({@link #withChoice}). {@code
 * -Dsparkgpt.blas=bundled} keeps the bundled build; a user's own {@code org.bytedeco.openblas.load}
 * is left as it is.
 */
public final class SystemBlas {
  private SystemBlas() {}

  /** {@code system} (the default) or {@code bundled}, which keeps ND4J's own OpenBLAS. */
  public static final String SWITCH = "sparkgpt.blas";

  static final String LOAD = "org.bytedeco.openblas.load";
  static final String PRELOAD_PATH = "org.bytedeco.javacpp.platform.preloadpath";

  /** Where distributions put the OpenBLAS soname (a link, through alternatives, to the build). */
  static final List<Path> SONAMES =
      List.of(
          Path.of("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"),
          Path.of("/usr/lib/aarch64-linux-gnu/libopenblas.so.0"),
          Path.of("/usr/lib64/libopenblas.so.0"));

  private static final Pattern LIBRARY_FILE = Pattern.compile("lib(openblas[\\w.+-]*?)\\.so");

  /**
   * The JavaCPP settings that load the system OpenBLAS, or none when it is not installed, is
   * switched off, or the user chose a library. JavaCPP wants the library's name without {@code lib}
   * and {@code .so} and its folder, so the soname link is resolved to the file it names (Debian:
   * {@code openblas-pthread/libopenblasp-r0.3.21.so}).
   *
   * @throws IllegalArgumentException when {@code -Dsparkgpt.blas} is neither {@code system} nor
   *     {@code bundled}
   */
  public static Map<String, String> properties() {
    Map<String, String> p = new LinkedHashMap<>();
    String choice = System.getProperty(SWITCH, "system");
    if (!choice.equalsIgnoreCase("system") && !choice.equalsIgnoreCase("bundled")) {
      throw new IllegalArgumentException(
          "-D" + SWITCH + " is 'system' (the default) or 'bundled', not '" + choice + "'");
    }
    if (choice.equalsIgnoreCase("bundled") || System.getProperty(LOAD) != null) {
      return p;
    }
    for (Path soname : SONAMES) {
      Path file;
      try {
        file = soname.toRealPath();
      } catch (IOException e) {
        continue; // not installed here
      }
      Matcher m = LIBRARY_FILE.matcher(file.getFileName().toString());
      if (!m.matches() || !Files.isReadable(file)) {
        continue;
      }
      p.put(LOAD, m.group(1));
      String dir = file.getParent().toString();
      String preload = System.getProperty(PRELOAD_PATH);
      p.put(PRELOAD_PATH, preload == null ? dir : preload + File.pathSeparator + dir);
      return p;
    }
    return p;
  }

  /** Sets {@link #properties()} in this JVM; call before the first ND4J class loads. */
  public static void prefer() {
    properties().forEach(System::setProperty);
  }

  /**
   * {@code javaOptions} (another JVM's, a Spark executor's) with this JVM's choice appended: the
   * settings {@link #prefer()} made or would make, or the user's own; unchanged when they already
   * name a library or the switch, or when there is nothing to add.
   */
  public static String withChoice(String javaOptions) {
    String opts = javaOptions == null ? "" : javaOptions.strip();
    Map<String, String> p = new LinkedHashMap<>(properties());
    for (String k : List.of(LOAD, PRELOAD_PATH)) {
      String v = System.getProperty(k);
      if (v != null) {
        p.putIfAbsent(k, v);
      }
    }
    if (!p.containsKey(LOAD) || opts.contains(LOAD) || opts.contains(SWITCH)) {
      return opts;
    }
    StringBuilder s = new StringBuilder(opts);
    p.forEach((k, v) -> s.append(s.length() == 0 ? "" : " ").append("-D" + k + "=" + v));
    return s.toString();
  }

  /**
   * The OpenBLAS file this process has mapped (JavaCPP copies the chosen library into its cache
   * under the name ND4J links against), with its size, to tell the builds apart in logs and
   * benchmark output: e.g. {@code libopenblas.so.0 (36.5 MB, system)}; "unknown" off Linux or
   * before ND4J loaded.
   */
  public static String loaded() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        int slash = line.indexOf('/');
        if (slash < 0 || !line.contains("libopenblas")) {
          continue;
        }
        Path f = Path.of(line.substring(slash));
        String origin = f.toString().contains("/org/bytedeco/openblas/") ? "bundled" : "system";
        return String.format(
            java.util.Locale.ROOT,
            "%s (%.1f MB, %s)",
            f.getFileName(),
            Files.size(f) / 1e6,
            origin);
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or the file went away: say so below
    }
    return "unknown";
  }
}
