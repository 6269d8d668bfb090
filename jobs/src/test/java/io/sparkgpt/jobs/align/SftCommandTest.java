package io.sparkgpt.jobs.align;

import static io.sparkgpt.jobs.align.AlignFixture.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Head;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sft} and {@code generate --chat} end to end on the Alpaca seed tasks from a small pretrained model. */
class SftCommandTest {
  @TempDir
  static Path tmp;
  static Path base;
  static Path data;
  static int goodLines;

  @BeforeAll
  static void setUp() throws Exception {
    base = AlignFixture.pretrainedBase(tmp, 40);
    // the real seed tasks, then one line of each kind of defect
    List<String> lines = new ArrayList<>(Files.readAllLines(
        AlignFixture.corpus().resolve("sft/alpaca_seed_tasks.jsonl"), StandardCharsets.UTF_8));
    goodLines = lines.size();
    lines.add("{\"prompt\": \"unterminated");                               // invalid JSON
    lines.add("{\"prompt\": \"Say hi.\"}");                                  // missing completion
    lines.add("{\"prompt\": \"\", \"completion\": \"Hi.\"}");                // empty prompt
    lines.add("[1, 2]");                                                     // not an object
    lines.add("{\"prompt\": \"Count.\", \"completion\": \"" + "one two three ".repeat(100) + "\"}");  // too long
    lines.add("{\"prompt\": \"Say hi.\", \"completion\": \"Hi.\"}");         // fine
    data = tmp.resolve("sft.jsonl");
    Files.write(data, lines, StandardCharsets.UTF_8);
  }

  static List<String> sft(Path run, int steps) {
    return new ArrayList<>(List.of("sft", "--base", base.toString(), "--data", data.toString(), "--output",
        run.toString(), "--workers", "2", "--averaging-every", "2", "--batch-size", "4", "--steps",
        Integer.toString(steps), "--warmup", "2", "--lr", "3e-3", "--eval-every", "1", "--eval-batches", "3",
        "--checkpoint-every", "2", "--seq-len", "128"));
  }

  @Test
  void completionLossFallsBadLinesAreReportedAndTheRunResumes() throws Exception {
    Path run = tmp.resolve("sft");
    Cli.Result r = ok(Cli.run(sft(run, 20).toArray(String[]::new)));
    // Every defective line is counted with its line number.
    JsonNode report = AlignFixture.JSON.readTree(run.resolve("data/report.json").toFile());
    JsonNode reasons = report.get("rejected_by_reason");
    int n = goodLines;
    assertEquals(n + 1, reasons.get("invalid JSON").get("lines").get(0).asInt(), report.toString());
    assertEquals(n + 2, reasons.get("missing field 'completion'").get("lines").get(0).asInt(), report.toString());
    assertEquals(n + 3, reasons.get("empty field 'prompt'").get("lines").get(0).asInt(), report.toString());
    assertEquals(n + 4, reasons.get("not a JSON object").get("lines").get(0).asInt(), report.toString());
    JsonNode tooLong = reasons.get("too long (more than 129 tokens)");
    assertTrue(tooLong.get("lines").toString().contains(Integer.toString(n + 5)), report.toString());
    assertEquals(n + 6, report.get("lines").asInt());
    assertEquals(report.get("lines").asInt(), report.get("accepted").asInt() + report.get("rejected").asInt());
    assertEquals(report.get("accepted").asInt(), report.get("train").asInt() + report.get("val").asInt());
    assertTrue(report.get("accepted").asInt() >= 40, "enough seed tasks fit in 129 tokens: " + report);
    assertEquals(report.get("rejected").asInt(), Files.readAllLines(run.resolve("data/rejected.jsonl")).size());
    assertTrue(r.err().contains("invalid JSON: 1 (line " + (n + 1) + ")"), r.err());

    // The completion loss on held-out examples falls.
    List<Double> val = AlignFixture.values(AlignFixture.metrics(run), "val_loss");
    assertEquals(11, val.size(), "the base model's, then one evaluation per round");
    System.out.println("sft validation completion loss per round: " + val);
    assertTrue(val.get(val.size() - 1) < val.get(0) - 0.15, "validation loss fell: " + val);
    assertTrue(Files.size(run.resolve("loss.png")) > 1000);
    Checkpoint ck = Checkpoint.load(run.resolve("checkpoint"), false);
    assertEquals(Head.NONE, ck.head());

    // Resume: continues at step 20.
    Cli.Result more = ok(Cli.run(sft(run, 24).toArray(String[]::new)));
    assertTrue(more.out().contains("sft steps 20..24"), more.out());
    assertTrue(more.err().contains("resuming from"), more.err());

    // generate --chat wraps the prompt and prints only the response.
    Cli.Result g = ok(Cli.run("generate", "--checkpoint", run.resolve("checkpoint").toString(), "--chat",
        "--prompt", "Give me a word.", "--max-new-tokens", "20", "--temperature", "0"));
    assertFalse(g.out().contains("### Prompt"), g.out());
    Cli.Result plain = ok(Cli.run("generate", "--checkpoint", run.resolve("checkpoint").toString(),
        "--prompt", "Give me a word.", "--max-new-tokens", "20", "--temperature", "0"));
    assertTrue(plain.out().startsWith("Give me a word."), plain.out());
    int chatPrompt = Integer.parseInt(g.err().strip().split(" ")[0]);
    int plainPrompt = Integer.parseInt(plain.err().strip().split(" ")[0]);
    assertTrue(chatPrompt > plainPrompt + 5, "the template wraps the prompt: " + g.err() + " / " + plain.err());
  }

  @Test
  void badInputIsAOneLineError() throws Exception {
    Cli.Result missing = Cli.run("sft", "--base", base.toString(), "--data", tmp.resolve("nope.jsonl").toString(),
        "--output", tmp.resolve("x").toString());
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().startsWith("sft: --data not found"), missing.err());
    Cli.Result noBase = Cli.run("sft", "--base", tmp.toString(), "--data", data.toString(), "--output",
        tmp.resolve("y").toString());
    assertEquals(2, noBase.code(), noBase.err());
    assertEquals(1, noBase.err().strip().lines().count(), noBase.err());
    Path allBad = tmp.resolve("bad.jsonl");
    Files.writeString(allBad, "not json\n{\"prompt\": 3, \"completion\": \"x\"}\n");
    Cli.Result none = Cli.run("sft", "--base", base.toString(), "--data", allBad.toString(), "--output",
        tmp.resolve("z").toString());
    assertEquals(2, none.code(), none.err());
    assertTrue(none.err().contains("no usable training examples"), none.err());
    assertTrue(none.err().contains("field 'prompt' is not a string: 1 (line 2)"), none.err());
  }
}
