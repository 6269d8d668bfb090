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

/**
 * {@code sft} and {@code generate --chat} end to end on the Alpaca seed tasks from a small
 * pretrained model.
 */
class SftCommandTest {
  @TempDir static Path tmp;
  static Path base;
  static Path data;
  static int goodLines;

  @BeforeAll
  static void setUp() throws Exception {
    base = AlignFixture.pretrainedBase(tmp, 40);
    // the real seed tasks, then one line of each kind of defect
    List<String> lines =
        new ArrayList<>(
            Files.readAllLines(
                AlignFixture.corpus().resolve("sft/alpaca_seed_tasks.jsonl"),
                StandardCharsets.UTF_8));
    goodLines = lines.size();
    lines.add("{\"prompt\": \"unterminated"); // invalid JSON
    lines.add("{\"prompt\": \"Say hi.\"}"); // missing completion
    lines.add("{\"prompt\": \"\", \"completion\": \"Hi.\"}"); // empty prompt
    lines.add("[1, 2]"); // not an object
    lines.add(
        "{\"prompt\": \"Count.\", \"completion\": \""
            + "one two three ".repeat(100)
            + "\"}"); // too long
    lines.add("{\"prompt\": \"Say hi.\", \"completion\": \"Hi.\"}"); // fine
    data = tmp.resolve("sft.jsonl");
    Files.write(data, lines, StandardCharsets.UTF_8);
  }

  static List<String> sft(Path run, int steps) {
    return new ArrayList<>(
        List.of(
            "sft",
            "--base",
            base.toString(),
            "--data",
            data.toString(),
            "--output",
            run.toString(),
            "--workers",
            "2",
            "--averaging-every",
            "2",
            "--batch-size",
            "4",
            "--steps",
            Integer.toString(steps),
            "--warmup",
            "2",
            "--lr",
            "3e-3",
            "--eval-every",
            "1",
            "--eval-batches",
            "3",
            "--checkpoint-every",
            "2",
            "--seq-len",
            "128"));
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
    assertEquals(
        n + 2,
        reasons.get("missing field 'completion'").get("lines").get(0).asInt(),
        report.toString());
    assertEquals(
        n + 3, reasons.get("empty field 'prompt'").get("lines").get(0).asInt(), report.toString());
    assertEquals(
        n + 4, reasons.get("not a JSON object").get("lines").get(0).asInt(), report.toString());
    JsonNode tooLong = reasons.get("too long (more than 129 tokens)");
    assertTrue(
        tooLong.get("lines").toString().contains(Integer.toString(n + 5)), report.toString());
    assertEquals(n + 6, report.get("lines").asInt());
    assertEquals(
        report.get("lines").asInt(),
        report.get("accepted").asInt() + report.get("rejected").asInt());
    assertEquals(
        report.get("accepted").asInt(), report.get("train").asInt() + report.get("val").asInt());
    assertTrue(
        report.get("accepted").asInt() >= 40, "enough seed tasks fit in 129 tokens: " + report);
    assertEquals(
        report.get("rejected").asInt(),
        Files.readAllLines(run.resolve("data/rejected.jsonl")).size());
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
    Cli.Result g =
        ok(
            Cli.run(
                "generate",
                "--checkpoint",
                run.resolve("checkpoint").toString(),
                "--chat",
                "--prompt",
                "Give me a word.",
                "--max-new-tokens",
                "20",
                "--temperature",
                "0"));
    assertFalse(g.out().contains("### Prompt"), g.out());
    Cli.Result plain =
        ok(
            Cli.run(
                "generate",
                "--checkpoint",
                run.resolve("checkpoint").toString(),
                "--prompt",
                "Give me a word.",
                "--max-new-tokens",
                "20",
                "--temperature",
                "0"));
    assertTrue(plain.out().startsWith("Give me a word."), plain.out());
    int chatPrompt = Integer.parseInt(g.err().strip().split(" ")[0]);
    int plainPrompt = Integer.parseInt(plain.err().strip().split(" ")[0]);
    assertTrue(
        chatPrompt > plainPrompt + 5,
        "the template wraps the prompt: " + g.err() + " / " + plain.err());
  }

  /**
   * {@code --pack}: the seed tasks, several to a row. With batch 1 and enough validation batches
   * both runs evaluate every validation example, so the base model's validation loss (step 0) must
   * be the same packed or padded: a packed example sees neither its neighbours nor shifted
   * positions. Then the packed run learns.
   */
  @Test
  void packedRowsGiveThePaddedLossAndLearn() throws Exception {
    List<String> padded = evaluatingAll(sft(tmp.resolve("padded"), 2));
    ok(Cli.run(padded.toArray(String[]::new)));
    List<String> packed = evaluatingAll(sft(tmp.resolve("packed"), 16));
    packed.add("--pack");
    Cli.Result r = ok(Cli.run(packed.toArray(String[]::new)));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("packed (\\d+) train examples into (\\d+) rows")
            .matcher(r.err());
    assertTrue(m.find(), r.err());
    int examples = Integer.parseInt(m.group(1));
    int rows = Integer.parseInt(m.group(2));
    List<Double> paddedVal =
        AlignFixture.values(AlignFixture.metrics(tmp.resolve("padded")), "val_loss");
    List<Double> packedVal =
        AlignFixture.values(AlignFixture.metrics(tmp.resolve("packed")), "val_loss");
    System.out.printf(
        java.util.Locale.ROOT,
        "sft --pack: %d examples in %d rows; validation loss padded %s, packed %s%n",
        examples,
        rows,
        paddedVal,
        packedVal);
    // at T = 128 most seed tasks that fit are long (measured: 49 examples in 46 rows); longer rows
    // pack more
    assertTrue(rows < examples, "some rows hold several examples: " + examples + " in " + rows);
    assertEquals(
        paddedVal.get(0),
        packedVal.get(0),
        1e-5 * paddedVal.get(0),
        "the base model's validation loss");
    assertTrue(
        packedVal.get(packedVal.size() - 1) < packedVal.get(0) - 0.05,
        "validation loss fell: " + packedVal);
  }

  /** sft's flags with batch 1, validation on every example every 4 rounds. */
  private static List<String> evaluatingAll(List<String> args) {
    args.set(args.indexOf("--batch-size") + 1, "1");
    args.set(args.indexOf("--eval-batches") + 1, "1000");
    args.set(args.indexOf("--eval-every") + 1, "4");
    return args;
  }

  @Test
  void badInputIsAOneLineError() throws Exception {
    Cli.Result missing =
        Cli.run(
            "sft",
            "--base",
            base.toString(),
            "--data",
            tmp.resolve("nope.jsonl").toString(),
            "--output",
            tmp.resolve("x").toString());
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().startsWith("sft: --data not found"), missing.err());
    Cli.Result noBase =
        Cli.run(
            "sft",
            "--base",
            tmp.toString(),
            "--data",
            data.toString(),
            "--output",
            tmp.resolve("y").toString());
    assertEquals(2, noBase.code(), noBase.err());
    assertEquals(1, noBase.err().strip().lines().count(), noBase.err());
    Path allBad = tmp.resolve("bad.jsonl");
    Files.writeString(allBad, "not json\n{\"prompt\": 3, \"completion\": \"x\"}\n");
    Cli.Result none =
        Cli.run(
            "sft",
            "--base",
            base.toString(),
            "--data",
            allBad.toString(),
            "--output",
            tmp.resolve("z").toString());
    assertEquals(2, none.code(), none.err());
    assertTrue(none.err().contains("no usable training examples"), none.err());
    assertTrue(none.err().contains("field 'prompt' is not a string: 1 (line 2)"), none.err());
  }
}
