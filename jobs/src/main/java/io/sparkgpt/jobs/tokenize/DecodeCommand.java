package io.sparkgpt.jobs.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "decode",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Token ids on standard input (per line: separated by spaces or commas, or a JSON array) to "
          + "text on standard output, one line of text per line of ids."
    })
public final class DecodeCommand implements Callable<Integer> {
  @Mixin TokenizerOption tokenizer;

  @Option(
      names = "--format",
      defaultValue = "text",
      paramLabel = "FMT",
      description =
          "text, or json (each decoded text as a JSON string, so newlines stay on one line) "
              + "(default: ${DEFAULT-VALUE}).")
  String format;

  @Override
  public Integer call() throws IOException {
    boolean json =
        switch (format) {
          case "text" -> false;
          case "json" -> true;
          default -> throw new UserError("--format: '" + format + "' is not one of text, json");
        };
    ObjectMapper mapper = new ObjectMapper();
    try (Tokenizer tok = tokenizer.load()) {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      PrintStream out =
          new PrintStream(
              new java.io.BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.UTF_8);
      IntArray ids = new IntArray(1024);
      long lineNo = 0;
      for (String line; (line = in.readLine()) != null; ) {
        lineNo++;
        ids.clear();
        for (String field : line.replace('[', ' ').replace(']', ' ').split("[\\s,]+")) {
          if (field.isEmpty()) {
            continue;
          }
          int id;
          try {
            id = Integer.parseInt(field);
          } catch (NumberFormatException e) {
            out.flush();
            throw new UserError("line " + lineNo + ": '" + field + "' is not a token id");
          }
          if (id < 0 || id >= tok.vocabSize()) {
            out.flush();
            throw new UserError(
                "line "
                    + lineNo
                    + ": token id "
                    + id
                    + " is not in the vocabulary (size "
                    + tok.vocabSize()
                    + ")");
          }
          ids.add(id);
        }
        String text = tok.decode(ids.toArray());
        out.println(json ? mapper.writeValueAsString(text) : text);
      }
      out.flush();
    }
    return 0;
  }
}
