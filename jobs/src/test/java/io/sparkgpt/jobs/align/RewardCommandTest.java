package io.sparkgpt.jobs.align;

import static io.sparkgpt.jobs.align.AlignFixture.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.Safetensors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train-reward} on a synthetic preference set with a clear rule and on the hh-rlhf pairs.
 */
class RewardCommandTest {
  @TempDir static Path tmp;
  static Path base;

  @BeforeAll
  static void setUp() {
    base = AlignFixture.pretrainedBase(tmp, 40);
  }

  static List<String> trainReward(Path data, Path run, int steps, int evalBatches, String lr) {
    return List.of(
        "train-reward",
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
        "8",
        "--steps",
        Integer.toString(steps),
        "--warmup",
        "2",
        "--lr",
        lr,
        "--eval-every",
        "2",
        "--eval-batches",
        Integer.toString(evalBatches),
        "--checkpoint-every",
        "2",
        "--val-fraction",
        "0.25");
  }

  /**
   * Prompt: a line of the play; chosen: the next line; rejected: the same next line in capitals.
   * The rule is plain, so the reward model must learn it almost perfectly.
   */
  @Test
  void learnsAClearRuleAndResumes() throws Exception {
    List<String> lines =
        Files.readAllLines(
                AlignFixture.corpus().resolve("prose_en/tinyshakespeare.txt"),
                StandardCharsets.UTF_8)
            .stream()
            .filter(l -> l.length() > 20 && l.length() < 60)
            .toList();
    List<String> out = new ArrayList<>();
    for (int i = 0; i + 1 < lines.size() && out.size() < 400; i += 7) {
      ObjectNode o = AlignFixture.JSON.createObjectNode();
      o.put("prompt", lines.get(i))
          .put("chosen", lines.get(i + 1))
          .put("rejected", lines.get(i + 1).toUpperCase(Locale.ROOT));
      out.add(AlignFixture.JSON.writeValueAsString(o));
    }
    out.add("{\"prompt\": \"x\", \"chosen\": \"same\", \"rejected\": \"same\"}");
    Path data = tmp.resolve("rule.jsonl");
    Files.write(data, out, StandardCharsets.UTF_8);
    Path run = tmp.resolve("rule");
    Cli.Result r = ok(Cli.run(trainReward(data, run, 16, 8, "2e-3").toArray(String[]::new)));
    List<Double> acc = AlignFixture.values(AlignFixture.metrics(run), "val_accuracy");
    List<Double> loss = AlignFixture.values(AlignFixture.metrics(run), "val_loss");
    System.out.println(
        "rule reward model: validation pairwise accuracy "
            + acc
            + ", loss "
            + loss
            + " (first: the new head)");
    assertTrue(acc.get(acc.size() - 1) > 0.9, "accuracy " + acc + "\n" + r.err());
    // a random head may already order the pairs by chance; the margin shows what training learned
    assertTrue(loss.get(loss.size() - 1) < 0.5 * loss.get(0), "pairwise loss " + loss);
    assertTrue(r.out().contains("validation pairwise accuracy"), r.out());
    assertTrue(
        r.err().contains("chosen and rejected are identical: 1 (line " + out.size() + ")"),
        r.err());

    Checkpoint ck = Checkpoint.load(run.resolve("checkpoint"));
    assertEquals(Head.REWARD, ck.head());
    assertEquals(
        List.of(64L, 1L),
        List.of(
            ck.params().get("score.weight").shape()[0],
            ck.params().get("score.weight").shape()[1]));
    assertTrue(
        Safetensors.readHeader(run.resolve("checkpoint/model.safetensors"))
            .tensors()
            .containsKey("score.bias"));
    JsonNode config = AlignFixture.JSON.readTree(run.resolve("checkpoint/config.json").toFile());
    assertEquals("reward", config.get("sparkgpt_head").asText());

    Cli.Result more = ok(Cli.run(trainReward(data, run, 20, 8, "2e-3").toArray(String[]::new)));
    assertTrue(more.out().contains("reward steps 16..20"), more.out());

    Cli.Result gen =
        Cli.run("generate", "--checkpoint", run.resolve("checkpoint").toString(), "--prompt", "x");
    assertEquals(2, gen.code(), gen.err());
    assertTrue(gen.err().contains("is a reward model"), gen.err());

    evaluates(data, run.resolve("checkpoint"));
  }

  /**
   * {@code eval}: each figure of the trained checkpoints against its baseline, as JSON and one
   * summary line.
   */
  private static void evaluates(Path pairs, Path rewardModel) throws Exception {
    Cli.Result ppl =
        ok(
            Cli.run(
                "eval",
                "--checkpoint",
                base.toString(),
                "--dataset",
                tmp.resolve("data").toString()));
    JsonNode p = json(ppl);
    System.out.println("eval base: " + ppl.out().strip());
    assertTrue(
        p.get("perplexity").asDouble() < p.get("untrained_perplexity").asDouble() / 2, ppl.out());
    assertTrue(
        ppl.err().strip().startsWith("eval: perplexity ") && ppl.err().strip().lines().count() == 1,
        ppl.err());

    Path out = tmp.resolve("eval-pairs.json");
    Cli.Result acc =
        ok(
            Cli.run(
                "eval",
                "--checkpoint",
                rewardModel.toString(),
                "--pairs",
                pairs.toString(),
                "--output",
                out.toString()));
    JsonNode a = AlignFixture.JSON.readTree(out.toFile());
    assertEquals(a, json(acc));
    assertTrue(
        a.get("accuracy").asDouble() > 0.9 && a.get("mean_margin").asDouble() > 0, acc.out());
    assertEquals(1, a.get("rejected_lines").asInt(), "the identical pair");

    Path prompts = tmp.resolve("prompts.jsonl");
    Files.writeString(prompts, "{\"prompt\": \"ROMEO:\"}\n{\"prompt\": \"Speak, sir.\"}\n");
    Cli.Result self =
        ok(
            Cli.run(
                "eval",
                "--checkpoint",
                base.toString(),
                "--prompts",
                prompts.toString(),
                "--against",
                base.toString(),
                "--reward",
                rewardModel.toString(),
                "--max-new-tokens",
                "8"));
    JsonNode w = json(self);
    assertEquals(
        0.5, w.get("win_rate").asDouble(), 1e-12, "a policy against itself ties: " + self.out());
    assertEquals(2, w.get("prompts").asInt());
    // another policy (untrained), both sampled (greedy, the untrained tied model repeats its last
    // input token, "\n",
    // as the base does here): the judge's verdicts swap with the roles
    Checkpoint b = Checkpoint.load(base, false);
    Path other = tmp.resolve("other-policy");
    Checkpoint.save(
        other,
        b.config(),
        io.sparkgpt.model.GptModel.initParams(b.config(), 7),
        null,
        null,
        Checkpoint.tokenizerFile(base));
    JsonNode ab =
        json(
            ok(
                Cli.run(
                    "eval",
                    "--checkpoint",
                    base.toString(),
                    "--prompts",
                    prompts.toString(),
                    "--against",
                    other.toString(),
                    "--reward",
                    rewardModel.toString(),
                    "--max-new-tokens",
                    "8",
                    "--temperature",
                    "1")));
    JsonNode ba =
        json(
            ok(
                Cli.run(
                    "eval",
                    "--checkpoint",
                    other.toString(),
                    "--prompts",
                    prompts.toString(),
                    "--against",
                    base.toString(),
                    "--reward",
                    rewardModel.toString(),
                    "--max-new-tokens",
                    "8",
                    "--temperature",
                    "1")));
    System.out.println("eval win rate: " + ab + "\n" + ba);
    assertEquals(
        1.0, ab.get("win_rate").asDouble() + ba.get("win_rate").asDouble(), 1e-12, ab + "\n" + ba);
    assertEquals(
        -ab.get("mean_reward_margin").asDouble(),
        ba.get("mean_reward_margin").asDouble(),
        1e-4,
        ab + "\n" + ba);
    assertTrue(
        ab.get("mean_reward_margin").asDouble() != 0, "the two policies answer differently: " + ab);
    // a ppo checkpoint (the same backbone with a value head) is a policy too: it answers as the
    // base does
    Path withValueHead = tmp.resolve("ppo-policy");
    Checkpoint.save(
        withValueHead,
        b.config(),
        io.sparkgpt.model.Head.VALUE,
        io.sparkgpt.model.GptModel.withNewHead(
            b.config(), b.backbone(), io.sparkgpt.model.Head.VALUE, 3),
        null,
        null,
        Checkpoint.tokenizerFile(base));
    JsonNode ppoVsBase =
        json(
            ok(
                Cli.run(
                    "eval",
                    "--checkpoint",
                    withValueHead.toString(),
                    "--prompts",
                    prompts.toString(),
                    "--against",
                    base.toString(),
                    "--reward",
                    rewardModel.toString(),
                    "--max-new-tokens",
                    "8")));
    assertEquals(
        0.5, ppoVsBase.get("win_rate").asDouble(), 1e-12, "the same backbone ties: " + ppoVsBase);
    Cli.Result judgeAsPolicy =
        Cli.run(
            "eval",
            "--checkpoint",
            rewardModel.toString(),
            "--prompts",
            prompts.toString(),
            "--against",
            base.toString(),
            "--reward",
            rewardModel.toString());
    assertEquals(2, judgeAsPolicy.code(), judgeAsPolicy.err());
    assertTrue(judgeAsPolicy.err().contains("not reward models"), judgeAsPolicy.err());

    Cli.Result wrong =
        Cli.run(
            "eval",
            "--checkpoint",
            rewardModel.toString(),
            "--dataset",
            tmp.resolve("data").toString());
    assertEquals(2, wrong.code(), wrong.err());
    assertTrue(wrong.err().contains("is a reward model, not a language model"), wrong.err());
    Cli.Result missing =
        Cli.run("eval", "--checkpoint", base.toString(), "--prompts", prompts.toString());
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains("needs --against"), missing.err());
  }

  /**
   * Anthropic's harmless-base test pairs (prompts cut from the left to fit) through the whole
   * reward path. A d=64 base trained for seconds cannot generalise human preference (held-out
   * accuracy stays within noise of 0.5; issue 16 tracks that figure), so the check is that it fits
   * them: over about ten passes on 90 pairs the training pairwise loss must fall well below ln 2.
   */
  @Test
  void fitsHumanPreferences() throws Exception {
    List<String> lines =
        Files.readAllLines(
            AlignFixture.corpus().resolve("preference/hh_rlhf_harmless_base_test.jsonl"),
            StandardCharsets.UTF_8);
    Path data = tmp.resolve("hh.jsonl");
    Files.write(data, lines.subList(0, 120), StandardCharsets.UTF_8);
    Path run = tmp.resolve("hh");
    Cli.Result r = ok(Cli.run(trainReward(data, run, 48, 4, "2e-3").toArray(String[]::new)));
    JsonNode report = AlignFixture.JSON.readTree(run.resolve("data/report.json").toFile());
    List<JsonNode> metrics = AlignFixture.metrics(run);
    List<Double> loss = AlignFixture.values(metrics, "loss");
    List<Double> acc = AlignFixture.values(metrics, "val_accuracy");
    double first = mean(loss.subList(0, 4));
    double last = mean(loss.subList(loss.size() - 4, loss.size()));
    System.out.printf(
        Locale.ROOT,
        "hh-rlhf reward model: training pairwise loss %.3f -> %.3f; held-out accuracy %s on %d pairs%n",
        first,
        last,
        acc,
        report.get("val").asInt());
    assertTrue(
        report.get("accepted_with_changes").get("prompt truncated from the left").asInt() > 0,
        report.toString());
    assertTrue(last < 0.55 && last < first - 0.1, "training loss " + loss + "\n" + r.err());
    assertTrue(acc.stream().allMatch(a -> a >= 0 && a <= 1), "accuracy " + acc);
  }

  /** eval's standard output: one JSON object and nothing else. */
  private static JsonNode json(Cli.Result r) throws Exception {
    assertEquals(1, r.out().strip().lines().count(), r.out());
    return AlignFixture.JSON.readTree(r.out());
  }

  private static double mean(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
  }
}
