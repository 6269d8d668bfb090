package io.sparkgpt.jobs;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The allowed range of every number a user can set, in one table: checked for every command right
 * after parsing (before anything runs) and by {@code --config} readers through {@link
 * #check(String, double, String)}. A value outside its range is one line naming the setting and the
 * range. Picocli already refuses a fraction for an integer flag ("'2.5' is not an int"). Relations
 * between settings (min_words at most max_words, seq-len at most the block size) are checked where
 * they are used.
 */
public final class Settings {
  private Settings() {}

  private static final String ANY = "(-inf, inf)";
  private static final String NATURAL = "[0, inf)";
  private static final String POSITIVE = "[1, inf)";
  private static final String POSITIVE_REAL = "(0, inf)";
  private static final String FRACTION = "[0, 1)";

  /** By option name, or by "command --option" where a command differs. */
  static final Map<String, String> RANGES =
      Map.ofEntries(
          // reading and cleaning
          Map.entry("--partitions", NATURAL),
          Map.entry("--max-doc-bytes", POSITIVE),
          Map.entry("--dedup-threshold", "(0, 1]"),
          Map.entry("--decontaminate-ngram", POSITIVE),
          Map.entry("--decontaminate-margin", NATURAL),
          // inspect
          Map.entry("--sample", NATURAL),
          Map.entry("--docs", POSITIVE),
          Map.entry("--max-chars", POSITIVE),
          // tokenizers and datasets
          Map.entry("--vocab-size", "[257, 16777216]"),
          Map.entry("--min-frequency", POSITIVE),
          Map.entry("--sample-fraction", "(0, 1]"),
          Map.entry("--held-out-fraction", FRACTION),
          Map.entry("--max-pre-tokens", POSITIVE),
          Map.entry("--seed", ANY),
          Map.entry("--seq-len", "[1, 268435454]"),
          Map.entry("sft --seq-len", "[2, 268435454]"),
          Map.entry("train-reward --seq-len", "[2, 268435454]"),
          Map.entry("dpo --seq-len", "[2, 268435454]"),
          Map.entry("--beta", POSITIVE_REAL),
          Map.entry("--val-fraction", FRACTION),
          Map.entry("--shard-tokens", POSITIVE),
          // the model
          Map.entry("--block-size", POSITIVE),
          Map.entry("--d-model", POSITIVE),
          Map.entry("--layers", POSITIVE),
          Map.entry("--heads", POSITIVE),
          Map.entry("--dropout", FRACTION),
          // training
          Map.entry("--batch-size", POSITIVE),
          Map.entry("--grad-accum", POSITIVE),
          Map.entry("--steps", POSITIVE),
          Map.entry("--lr", POSITIVE_REAL),
          Map.entry("--min-lr", NATURAL),
          Map.entry("--warmup", NATURAL),
          Map.entry("--decay-steps", POSITIVE),
          Map.entry("--weight-decay", NATURAL),
          Map.entry("--grad-clip", NATURAL),
          Map.entry("--eval-every", NATURAL),
          Map.entry("--eval-batches", NATURAL),
          Map.entry("--checkpoint-every", NATURAL),
          Map.entry("--log-every", POSITIVE),
          Map.entry("--threads", NATURAL),
          Map.entry("--workers", POSITIVE),
          Map.entry("--averaging-every", POSITIVE),
          // generation
          Map.entry("--max-new-tokens", NATURAL),
          Map.entry("--temperature", NATURAL),
          Map.entry("--top-k", NATURAL),
          Map.entry("--top-p", "(0, 1]"),
          // ppo
          Map.entry("--iterations", POSITIVE),
          Map.entry("--prompts-per-iteration", POSITIVE),
          Map.entry("ppo --max-new-tokens", POSITIVE),
          Map.entry("--max-prompt-tokens", POSITIVE),
          Map.entry("ppo --temperature", POSITIVE_REAL),
          Map.entry("--ppo-epochs", POSITIVE),
          Map.entry("--mini-batch", POSITIVE),
          Map.entry("--gamma", "(0, 1]"),
          Map.entry("--lambda", "[0, 1]"),
          Map.entry("--clip-range", POSITIVE_REAL),
          Map.entry("--value-clip", POSITIVE_REAL),
          Map.entry("--value-coef", NATURAL),
          Map.entry("--entropy-coef", NATURAL),
          Map.entry("--kl-coef", NATURAL),
          Map.entry("--kl-target", POSITIVE_REAL),
          Map.entry("--kl-horizon", POSITIVE_REAL),
          Map.entry("--samples-per-iteration", NATURAL),
          // eval
          Map.entry("--max-examples", POSITIVE));

  private static final Set<Class<?>> NUMBERS =
      Set.of(
          int.class,
          Integer.class,
          long.class,
          Long.class,
          double.class,
          Double.class,
          float.class,
          Float.class);

  /** Whether an option holds a number (and so needs a range in {@link #RANGES}). */
  static boolean numeric(OptionSpec o) {
    return NUMBERS.contains(o.type());
  }

  /** The range of a numeric option of {@code command}, or null if the table has none. */
  static String range(String command, OptionSpec o) {
    String r = RANGES.get(command + " " + o.longestName());
    return r != null ? r : RANGES.get(o.longestName());
  }

  /**
   * Checks every numeric option of the command about to run (given or default).
   *
   * @throws CommandLine.ParameterException naming the option and its range (exit code 2)
   */
  public static void check(CommandLine.ParseResult parsed) {
    var list = parsed.asCommandLineList();
    CommandLine cl = list.get(list.size() - 1);
    for (OptionSpec o : cl.getCommandSpec().options()) {
      Object v = o.getValue();
      String range = numeric(o) ? range(cl.getCommandName(), o) : null;
      if (v instanceof Number n && range != null && !contains(range, n.doubleValue())) {
        throw new CommandLine.ParameterException(
            cl, o.longestName() + " must be in " + range + ", not " + v);
      }
    }
  }

  /**
   * Checks one setting read from a file.
   *
   * @param name the setting as the file spells it, e.g. {@code dedup.bands}
   * @param range as in {@link #RANGES}: {@code [1, inf)}, {@code (0, 1]}, ...
   * @throws IllegalArgumentException (one line) outside the range
   */
  public static void check(String name, double value, String range) {
    if (!contains(range, value)) {
      String shown =
          value == Math.rint(value) && Math.abs(value) < 1e15
              ? Long.toString((long) value)
              : Double.toString(value);
      throw new IllegalArgumentException(name + " must be in " + range + ", not " + shown);
    }
  }

  static boolean contains(String range, double v) {
    String[] ends = range.substring(1, range.length() - 1).split(",");
    double lo = bound(ends[0]);
    double hi = bound(ends[1]);
    boolean aboveLo = range.charAt(0) == '[' ? v >= lo : v > lo;
    boolean belowHi = range.charAt(range.length() - 1) == ']' ? v <= hi : v < hi;
    return aboveLo && belowHi; // false for NaN
  }

  private static double bound(String s) {
    String t = s.strip().toLowerCase(Locale.ROOT);
    return t.equals("inf")
        ? Double.POSITIVE_INFINITY
        : t.equals("-inf") ? Double.NEGATIVE_INFINITY : Double.parseDouble(t);
  }
}
