package io.sparkgpt.tokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The way to a {@link Tokenizer}: bundled encodings by name, files by path or bytes, a rank table,
 * and the tokenizer.json form of a byte-level BPE. The implementations behind it are
 * package-private.
 */
public final class Tokenizers {
  private Tokenizers() {}

  /** tiktoken's special tokens for each bundled encoding. */
  static final Map<String, Integer> R50K_SPECIALS = Map.of("<|endoftext|>", 50256);

  static final Map<String, Integer> CL100K_SPECIALS =
      Map.of(
          "<|endoftext|>",
          100257,
          "<|fim_prefix|>",
          100258,
          "<|fim_middle|>",
          100259,
          "<|fim_suffix|>",
          100260,
          "<|endofprompt|>",
          100276);

  // Loaded once on first use; the tokenizers are immutable.
  private static final class R50k {
    static final ByteLevelBpe INSTANCE = bundled("r50k_base", SplitPattern.GPT2, R50K_SPECIALS);
  }

  private static final class Cl100k {
    static final ByteLevelBpe INSTANCE =
        bundled("cl100k_base", SplitPattern.CL100K, CL100K_SPECIALS);
  }

  /** GPT-2's encoding (tiktoken {@code r50k_base}), from the bundled rank file. */
  public static Tokenizer r50kBase() {
    return R50k.INSTANCE;
  }

  /** tiktoken {@code cl100k_base}, from the bundled rank file. */
  public static Tokenizer cl100kBase() {
    return Cl100k.INSTANCE;
  }

  /**
   * Loads a tokenizer from a spec: {@code r50k_base} (or {@code gpt2}), {@code cl100k_base}, or a
   * path to a HuggingFace {@code tokenizer.json} ({@code .json}), a SentencePiece model ({@code
   * .model}) or a tiktoken rank file ({@code .tiktoken}). A rank file whose name starts with {@code
   * r50k_base}, {@code p50k_base} or {@code cl100k_base} gets that encoding's split pattern and
   * special tokens; any other gets the GPT-2 pattern and {@code <|endoftext|>} right after the last
   * rank.
   *
   * @throws IllegalArgumentException for an unknown spec, a missing file or a malformed file
   */
  public static Tokenizer load(String spec) {
    switch (spec) {
      case "r50k_base":
      case "gpt2":
        return r50kBase();
      case "cl100k_base":
        return cl100kBase();
      default:
        break;
    }
    Path path = Path.of(spec);
    String file =
        path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (!file.endsWith(".json") && !file.endsWith(".model") && !file.endsWith(".tiktoken")) {
      throw new IllegalArgumentException(
          "unknown tokenizer '"
              + spec
              + "': expected r50k_base, cl100k_base, or a path ending in .json, .model or .tiktoken");
    }
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("tokenizer file not found: " + spec);
    }
    try {
      if (file.endsWith(".json")) {
        return HfTokenizerJson.load(path);
      }
      if (file.endsWith(".model")) {
        return SentencePieceTokenizer.load(path);
      }
      byte[][] ranks;
      try (InputStream in = Files.newInputStream(path)) {
        ranks = TiktokenFile.read(in, spec);
      }
      return fromRankFile(file, ranks);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + spec + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw e.getMessage().startsWith(spec)
          ? e
          : new IllegalArgumentException(spec + ": " + e.getMessage());
    }
  }

  /**
   * Loads a tokenizer from the bytes of a file named {@code file}: a HuggingFace {@code
   * tokenizer.json} ({@code .json}), a SentencePiece model ({@code .model}) or a tiktoken rank file
   * ({@code .tiktoken}, named as in {@link #load(String)}). The tokenizer's name is {@code file}.
   *
   * @throws IllegalArgumentException for another extension or a malformed file
   */
  public static Tokenizer load(String file, byte[] content) {
    String lower = file.toLowerCase(Locale.ROOT);
    try {
      if (lower.endsWith(".json")) {
        return HfTokenizerJson.load(new ByteArrayInputStream(content), file);
      }
      if (lower.endsWith(".model")) {
        return SentencePieceTokenizer.load(content, file);
      }
      if (lower.endsWith(".tiktoken")) {
        return fromRankFile(lower, TiktokenFile.read(new ByteArrayInputStream(content), file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    throw new IllegalArgumentException(
        "unknown tokenizer file '" + file + "': expected .json, .model or .tiktoken");
  }

  /**
   * A byte-level BPE from its token byte strings in rank order (id = rank, as in a tiktoken file),
   * the split pattern, and special tokens with their ids.
   */
  public static Tokenizer fromRanks(
      String name, SplitPattern pattern, byte[][] tokens, Map<String, Integer> specials) {
    return ByteLevelBpe.fromRanks(name, pattern, tokens, specials);
  }

  /**
   * Writes {@code tokenizer} as a HuggingFace {@code tokenizer.json} that loads with the same ids,
   * in a canonical form (the same tokenizer gives the same bytes).
   *
   * @throws IllegalArgumentException if it is not a byte-level BPE (a SentencePiece model has no
   *     such form)
   */
  public static void saveJson(Tokenizer tokenizer, OutputStream out) throws IOException {
    if (!(tokenizer instanceof ByteLevelBpe bpe)) {
      throw new IllegalArgumentException(
          "tokenizer '"
              + tokenizer.name()
              + "' is not a byte-level BPE and has no"
              + " tokenizer.json form");
    }
    HfTokenizerJson.save(bpe, out);
  }

  /** {@link #saveJson(Tokenizer, OutputStream)} to a file. */
  public static void saveJson(Tokenizer tokenizer, Path path) throws IOException {
    try (OutputStream out = Files.newOutputStream(path)) {
      saveJson(tokenizer, out);
    }
  }

  private static ByteLevelBpe fromRankFile(String file, byte[][] ranks) {
    String name = file.substring(0, file.length() - ".tiktoken".length());
    if (file.startsWith("cl100k_base")) {
      return ByteLevelBpe.fromRanks(name, SplitPattern.CL100K, ranks, CL100K_SPECIALS);
    }
    if (file.startsWith("r50k_base") || file.startsWith("p50k_base")) {
      return ByteLevelBpe.fromRanks(name, SplitPattern.GPT2, ranks, R50K_SPECIALS);
    }
    return ByteLevelBpe.fromRanks(
        name, SplitPattern.GPT2, ranks, Map.of("<|endoftext|>", ranks.length));
  }

  private static ByteLevelBpe bundled(
      String name, SplitPattern pattern, Map<String, Integer> specials) {
    String resource = name + ".tiktoken";
    try (InputStream in = Tokenizers.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("resource " + resource + " is missing from the classpath");
      }
      return ByteLevelBpe.fromRanks(name, pattern, TiktokenFile.read(in, resource), specials);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read resource " + resource, e);
    }
  }
}
