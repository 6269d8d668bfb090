package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.jobs.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CleanConfigTest {
  @TempDir
  Path tmp;

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
    Cli.Result printed = Cli.run("clean", "-i", tmp.toString(), "-o", tmp.resolve("o").toString(), "--print-config");
    assertEquals(0, printed.code());
    assertTrue(printed.out().contains("\"min_alpha_words\""), printed.out());
    Path f = tmp.resolve("typo.json");
    Files.writeString(f, "{\"quality\": {\"min_wrods\": 20}}");
    Cli.Result bad = Cli.run("clean", "-i", tmp.toString(), "-o", tmp.resolve("o").toString(), "--config", f.toString());
    assertEquals(2, bad.code());
    assertEquals(1, bad.err().strip().split("\n").length, bad.err());
    assertTrue(bad.err().contains("min_wrods"), bad.err());
  }
}
