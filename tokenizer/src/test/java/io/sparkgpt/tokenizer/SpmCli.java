package io.sparkgpt.tokenizer;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Debian's SentencePiece command-line tools (package {@code sentencepiece}); tests skip when they
 * are absent.
 */
final class SpmCli {
  private SpmCli() {}

  static Path binary(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    Assumptions.abort(
        "optional oracle missing: " + name + " not on PATH (apt-get install sentencepiece)");
    return null;
  }

  /**
   * Lossless BPE settings comparable to byte-level BPE: no normalization, all characters, byte
   * fallback.
   */
  static List<String> losslessBpe(int vocabSize) {
    return List.of(
        "--model_type=bpe",
        "--vocab_size=" + vocabSize,
        "--character_coverage=1.0",
        "--byte_fallback=true",
        "--normalization_rule_name=identity",
        "--remove_extra_whitespaces=false",
        "--allow_whitespace_only_pieces=true",
        "--max_sentence_length=16384",
        "--num_threads=1");
  }

  /** Trains on {@code input} (one sentence per line); returns the .model path. */
  static Path train(Path input, Path prefix, List<String> options)
      throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                binary("spm_train").toString(),
                "--input=" + input,
                "--model_prefix=" + prefix,
                "--minloglevel=2"));
    cmd.addAll(options);
    run(cmd, null);
    return Path.of(prefix + ".model");
  }

  /** spm_encode --output_format=id: one line of ids per input line. */
  static List<int[]> encode(Path model, Path input) throws IOException, InterruptedException {
    String out =
        run(
            List.of(
                binary("spm_encode").toString(),
                "--model=" + model,
                "--output_format=id",
                "--input=" + input),
            null);
    List<int[]> ids = new ArrayList<>();
    for (String line : out.split("\n", -1)) {
      ids.add(
          line.isBlank()
              ? new int[0]
              : java.util.Arrays.stream(line.trim().split(" "))
                  .mapToInt(Integer::parseInt)
                  .toArray());
    }
    if (!ids.isEmpty() && ids.get(ids.size() - 1).length == 0 && out.endsWith("\n")) {
      ids.remove(ids.size() - 1);
    }
    return ids;
  }

  static String run(List<String> cmd, Path workDir) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
    Path err = Files.createTempFile("spm", ".err");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + Files.readString(err));
    }
    Files.deleteIfExists(err);
    return new String(out, StandardCharsets.UTF_8);
  }
}
