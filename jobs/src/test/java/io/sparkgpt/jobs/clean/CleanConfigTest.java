package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.jobs.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CleanConfigTest {
  @TempDir Path tmp;

  @Test
  void aConfigFileOverridesSomeThresholdsAndKeepsTheOtherDefaults() throws Exception {
    Path f = tmp.resolve("c.json");
    Files.writeString(f, "{\"quality\": {\"min_words\": 20}, \"dedup\": {\"threshold\": 0.9}}");
    CleanConfig c = CleanConfig.load(f);
    assertEquals(20, c.quality().minWords());
    assertEquals(CleanConfig.DEFAULTS.quality().maxWords(), c.quality().maxWords());
    assertEquals(0.9, c.dedup().threshold());
    assertEquals(CleanConfig.DEFAULTS.dedup().bands(), c.dedup().bands());
    assertEquals(CleanConfig.DEFAULTS.pii(), c.pii());
  }

  @Test
  void printConfigShowsEveryKeyAndATypoIsAOneLineError() throws Exception {
    Cli.Result printed =
        Cli.run("clean", "-i", tmp.toString(), "-o", tmp.resolve("o").toString(), "--print-config");
    assertEquals(0, printed.code());
    assertTrue(printed.out().contains("\"min_alpha_words\""), printed.out());
    Path printedFile = Files.writeString(tmp.resolve("printed.json"), printed.out());
    assertEquals(
        CleanConfig.DEFAULTS,
        CleanConfig.load(printedFile),
        "--print-config's output loads back as --config");
    Path f = tmp.resolve("typo.json");
    Files.writeString(f, "{\"quality\": {\"min_wrods\": 20}}");
    Cli.Result bad =
        Cli.run(
            "clean",
            "-i",
            tmp.toString(),
            "-o",
            tmp.resolve("o").toString(),
            "--config",
            f.toString());
    assertEquals(2, bad.code());
    assertEquals(1, bad.err().strip().split("\n").length, bad.err());
    assertTrue(bad.err().contains("min_wrods"), bad.err());
  }

  @Test
  void printConfigListsThePipelineInOrderWithWhatIsSkipped() throws Exception {
    Cli.Result printed =
        Cli.run(
            "clean",
            "-i",
            tmp.toString(),
            "-o",
            tmp.resolve("o").toString(),
            "--print-config",
            "--skip",
            "language,fuzzy-dedup");
    assertEquals(0, printed.code(), printed.err());
    var steps = TestData.JSON.readTree(printed.out()).get("pipeline");
    java.util.List<String> names = new java.util.ArrayList<>();
    steps.forEach(s -> names.add(s.get("step").asText()));
    assertEquals(
        java.util.List.of(
            "decode",
            "normalize",
            "quality",
            "repetition",
            "code_quality",
            "language",
            "pii",
            "decontaminate",
            "exact_dedup",
            "fuzzy_dedup"),
        names);
    assertEquals(false, steps.get(5).get("on").asBoolean(), "language skipped");
    assertEquals(false, steps.get(9).get("on").asBoolean(), "fuzzy_dedup skipped");
    assertEquals(true, steps.get(2).get("on").asBoolean());
    assertEquals(false, steps.get(1).get("skippable").asBoolean(), "normalize always runs");
    assertEquals("too_short", steps.get(2).get("drop_reasons").get(0).asText());
    Cli.Result bad =
        Cli.run(
            "clean",
            "-i",
            tmp.toString(),
            "-o",
            tmp.resolve("o").toString(),
            "--skip",
            "normalize");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("unknown or mandatory step 'normalize'"), bad.err());
  }
}
