package io.sparkgpt.jobs.input;

import java.util.Locale;
import java.util.Map;

/**
 * Source code is recognised by its file extension; the value is stored as the document's language.
 */
public final class CodeLanguages {
  private static final Map<String, String> BY_EXTENSION =
      Map.ofEntries(
          Map.entry("py", "python"),
          Map.entry("pyi", "python"),
          Map.entry("java", "java"),
          Map.entry("kt", "kotlin"),
          Map.entry("scala", "scala"),
          Map.entry("c", "c"),
          Map.entry("h", "c"),
          Map.entry("cc", "cpp"),
          Map.entry("cpp", "cpp"),
          Map.entry("cxx", "cpp"),
          Map.entry("hpp", "cpp"),
          Map.entry("hh", "cpp"),
          Map.entry("cs", "csharp"),
          Map.entry("go", "go"),
          Map.entry("rs", "rust"),
          Map.entry("js", "javascript"),
          Map.entry("mjs", "javascript"),
          Map.entry("jsx", "javascript"),
          Map.entry("ts", "typescript"),
          Map.entry("tsx", "typescript"),
          Map.entry("rb", "ruby"),
          Map.entry("php", "php"),
          Map.entry("swift", "swift"),
          Map.entry("m", "objective-c"),
          Map.entry("sh", "shell"),
          Map.entry("bash", "shell"),
          Map.entry("sql", "sql"),
          Map.entry("lua", "lua"),
          Map.entry("pl", "perl"),
          Map.entry("r", "r"),
          Map.entry("jl", "julia"),
          Map.entry("hs", "haskell"),
          Map.entry("ml", "ocaml"),
          Map.entry("ex", "elixir"),
          Map.entry("erl", "erlang"),
          Map.entry("clj", "clojure"),
          Map.entry("dart", "dart"),
          Map.entry("f90", "fortran"),
          Map.entry("zig", "zig"));

  private CodeLanguages() {}

  /**
   * The programming language of a path (compression suffixes ignored), or null when it is not code.
   */
  public static String of(String path) {
    if (path == null) {
      return null;
    }
    String name = path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    name = Inputs.stripCompression(name);
    int dot = name.lastIndexOf('.');
    return dot < 0 ? null : BY_EXTENSION.get(name.substring(dot + 1));
  }
}
