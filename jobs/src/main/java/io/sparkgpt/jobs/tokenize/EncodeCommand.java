package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.Utf8;
import io.sparkgpt.jobs.Utf8Lines;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "encode",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Text on standard input to token ids on standard output: one line of ids per input line "
          + "(or for the whole input with --whole)."
    })
public final class EncodeCommand implements Callable<Integer> {
  @Mixin TokenizerOption tokenizer;

  @Option(
      names = "--format",
      defaultValue = "ids",
      paramLabel = "FMT",
      description =
          "ids (space-separated) or json (a JSON array per line) (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(
      names = "--whole",
      description = "Encode all of standard input as one text, newlines included.")
  boolean whole;

  @Option(
      names = "--allow-special",
      description =
          "Let special-token text (e.g. <|endoftext|>) become its id; otherwise it is plain text.")
  boolean allowSpecial;

  @Override
  public Integer call() throws IOException {
    boolean json =
        switch (format) {
          case "ids" -> false;
          case "json" -> true;
          default -> throw new UserError("--format: '" + format + "' is not one of ids, json");
        };
    try (Tokenizer tok = tokenizer.load()) {
      Set<String> allowed = allowSpecial ? tok.specialTokens().keySet() : Set.of();
      PrintStream out =
          new PrintStream(
              new java.io.BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.UTF_8);
      IntArray ids = new IntArray(1024);
      if (whole) {
        byte[] all = System.in.readAllBytes();
        String text;
        try {
          text = Utf8.decode(all, 0, all.length);
        } catch (Utf8.InvalidUtf8 e) {
          int bad = (int) e.offset;
          int line = 1;
          int lineStart = 0;
          for (int i = 0; i < bad; i++) {
            if (all[i] == '\n') {
              line++;
              lineStart = i + 1;
            }
          }
          throw new UserError(
              "standard input line "
                  + line
                  + " is not valid UTF-8 (at byte "
                  + (bad - lineStart + 1)
                  + " of the line)");
        }
        tok.encode(text, allowed, ids);
        print(out, ids, json);
      } else {
        Utf8Lines lines = new Utf8Lines(System.in);
        while (lines.next()) {
          if (lines.text() == null) {
            out.flush();
            throw new UserError(
                "standard input line "
                    + lines.number()
                    + " is not valid UTF-8 ("
                    + lines.error()
                    + ")");
          }
          ids.clear();
          tok.encode(lines.text(), allowed, ids);
          print(out, ids, json);
        }
      }
      out.flush();
    }
    return 0;
  }

  private static void print(PrintStream out, IntArray ids, boolean json) {
    StringBuilder b = new StringBuilder(ids.size() * 6 + 2);
    if (json) {
      b.append('[');
    }
    for (int i = 0; i < ids.size(); i++) {
      if (i > 0) {
        b.append(json ? "," : " ");
      }
      b.append(ids.get(i));
    }
    if (json) {
      b.append(']');
    }
    out.println(b);
  }
}
