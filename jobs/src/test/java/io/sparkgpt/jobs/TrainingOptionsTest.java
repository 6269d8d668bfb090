package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every trainer takes the shared training flags from one declaration each, with its own defaults.
 */
class TrainingOptionsTest {
  static final List<String> TRAINERS =
      List.of("train-local", "pretrain", "sft", "train-reward", "dpo");

  static CommandLine command(String name) {
    return new CommandLine(new SparkGpt()).getSubcommands().get(name);
  }

  @Test
  void eachSharedFlagIsDeclaredOnceForAllTrainers() {
    Map<String, TreeSet<String>> declaredIn = new TreeMap<>();
    for (String name : TRAINERS) {
      for (OptionSpec o : command(name).getCommandSpec().options()) {
        if (o.userObject() instanceof Field f) {
          declaredIn
              .computeIfAbsent(o.longestName(), k -> new TreeSet<>())
              .add(f.getDeclaringClass().getSimpleName());
        }
      }
    }
    for (String flag :
        List.of(
            "--batch-size",
            "--grad-accum",
            "--steps",
            "--lr",
            "--min-lr",
            "--warmup",
            "--decay-steps",
            "--weight-decay",
            "--grad-clip")) {
      assertEquals(new TreeSet<>(List.of("OptimizerOptions")), declaredIn.get(flag), flag);
    }
    for (String flag : List.of("--eval-every", "--eval-batches", "--checkpoint-every", "--seed")) {
      assertEquals(new TreeSet<>(List.of("RunOptions")), declaredIn.get(flag), flag);
    }
    for (String flag : List.of("--resume", "--allow-config-change")) {
      assertEquals(new TreeSet<>(List.of("ResumeOptions")), declaredIn.get(flag), flag);
    }
    assertEquals(new TreeSet<>(List.of("RoundOptions")), declaredIn.get("--averaging-every"));
    for (String flag :
        List.of("--base", "--data", "--output")) { // sft, train-reward and dpo: one declaration
      assertTrue(
          declaredIn.get(flag).contains("AveragingOptions"), flag + ": " + declaredIn.get(flag));
      assertTrue(
          declaredIn.get(flag).size() <= 3,
          flag + ": " + declaredIn.get(flag)); // + train-local, pretrain
    }
    for (OptionSpec o : command("ppo").getCommandSpec().options()) {
      if (o.userObject() instanceof Field f) {
        declaredIn
            .computeIfAbsent(o.longestName(), k -> new TreeSet<>())
            .add(f.getDeclaringClass().getSimpleName());
      }
    }
    assertEquals(new TreeSet<>(List.of("WorkerOptions")), declaredIn.get("--workers"));
    assertEquals(new TreeSet<>(List.of("SparkOptions")), declaredIn.get("--master"));
    assertEquals(
        new TreeSet<>(List.of("ResumeOptions")), declaredIn.get("--resume"), "ppo resumes alike");
  }

  @Test
  void eachCommandKeepsItsOwnDefaultsAndShowsThemInHelp() {
    Map<String, Map<String, String>> expected =
        Map.of(
            "train-local",
                Map.of(
                    "--lr",
                    "1e-3",
                    "--steps",
                    "1000",
                    "--eval-every",
                    "100",
                    "--checkpoint-every",
                    "500"),
            "pretrain",
                Map.of(
                    "--lr",
                    "1e-3",
                    "--steps",
                    "1000",
                    "--eval-every",
                    "25",
                    "--checkpoint-every",
                    "100",
                    "--workers",
                    "2"),
            "sft",
                Map.of(
                    "--lr",
                    "1e-4",
                    "--steps",
                    "200",
                    "--batch-size",
                    "8",
                    "--weight-decay",
                    "0.0",
                    "--eval-every",
                    "5",
                    "--checkpoint-every",
                    "25"),
            "train-reward", Map.of("--lr", "1e-3", "--warmup", "10", "--eval-batches", "10"),
            "dpo", Map.of("--lr", "1e-4", "--steps", "200", "--checkpoint-every", "25"));
    expected.forEach(
        (name, defaults) -> {
          CommandLine cl = command(name);
          String help = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
          defaults.forEach(
              (flag, value) -> {
                OptionSpec o = cl.getCommandSpec().findOption(flag);
                assertEquals(value, o.defaultValueString(), name + " " + flag);
                List<String> lines = help.lines().toList();
                int at = 0;
                while (!lines.get(at).strip().startsWith(flag + "=")) {
                  at++;
                }
                StringBuilder entry = new StringBuilder(lines.get(at).strip());
                for (int i = at + 1;
                    i < lines.size() && lines.get(i).startsWith("          ");
                    i++) { // continuation
                  entry.append(' ').append(lines.get(i).strip());
                }
                assertTrue(
                    entry.toString().contains("(default: " + value + ")"),
                    name + " --help shows " + flag + "'s default " + value + ": " + entry);
              });
        });
  }
}
