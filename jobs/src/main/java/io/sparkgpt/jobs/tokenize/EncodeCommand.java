package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encode", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Text on standard input to token ids on standard output: one line of ids per input line "
        + "(or for the whole input with --whole)."})
public final class EncodeCommand implements Callable<Integer> {
  @Mixin
  TokenizerOption tokenizer;

  @Option(names = "--format", defaultValue = "ids", paramLabel = "FMT",
      description = "ids (space-separated) or json (a JSON array per line) (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--whole", description = "Encode all of standard input as one text, newlines included.")
  boolean whole;

  @Option(names = "--allow-special",
      description = "Let special-token text (e.g. <|endoftext|>) become its id; otherwise it is plain text.")
  boolean allowSpecial;

  @Override
  public Integer call() throws IOException {
    boolean json = switch (format) {
      case "ids" -> false;
      case "json" -> true;
      default -> throw new UserError("--format: '" + format + "' is not one of ids, json");
    };
    try (Tokenizer tok = tokenizer.load()) {
      Set<String> allowed = allowSpecial ? tok.specialTokens().keySet() : Set.of();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)));
      PrintStream out = new PrintStream(new java.io.BufferedOutputStream(System.out, 1 << 16), false,
          StandardCharsets.UTF_8);
      IntArray ids = new IntArray(1024);
      StringBuilder line = new StringBuilder();
      long lineNo = 0;
      try {
        if (whole) {
          char[] buf = new char[1 << 16];
          for (int n; (n = in.read(buf)) > 0; ) {
            line.append(buf, 0, n);
          }
          tok.encode(line, allowed, ids);
          print(out, ids, json);
        } else {
          for (String l; (l = in.readLine()) != null; ) {
            lineNo++;
            ids.clear();
            tok.encode(l, allowed, ids);
            print(out, ids, json);
          }
        }
      } catch (CharacterCodingException e) {
        out.flush();
        throw new UserError("standard input is not valid UTF-8 (after line " + lineNo + ")");
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
