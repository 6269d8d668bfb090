package io.sparkgpt.jobs;

import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.clean.CleanCommand;
import io.sparkgpt.jobs.tokenize.DecodeCommand;
import io.sparkgpt.jobs.tokenize.EncodeCommand;
import io.sparkgpt.jobs.tokenize.TokenizeCommand;
import io.sparkgpt.jobs.tokenize.TrainTokenizerCommand;
import io.sparkgpt.jobs.train.GenerateCommand;
import io.sparkgpt.jobs.train.TrainLocalCommand;
import io.sparkgpt.model.SystemBlas;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The sparkgpt command line: one subcommand per job. */
@Command(
    name = "sparkgpt",
    mixinStandardHelpOptions = true,
    version = "sparkgpt 0.1.0",
    description = "Raw text and code to a trained GPT on Apache Spark.",
    subcommands = {
      CleanCommand.class,
      TrainTokenizerCommand.class,
      TokenizeCommand.class,
      EncodeCommand.class,
      DecodeCommand.class,
      TrainLocalCommand.class,
      GenerateCommand.class,
      PipelineCommand.class,
      io.sparkgpt.jobs.train.PretrainCommand.class,
      io.sparkgpt.jobs.align.SftCommand.class,
      io.sparkgpt.jobs.align.TrainRewardCommand.class,
      io.sparkgpt.jobs.align.DpoCommand.class,
      io.sparkgpt.jobs.align.PpoCommand.class,
      io.sparkgpt.jobs.align.EvalCommand.class,
      io.sparkgpt.jobs.inspect.InspectCommand.class,
      CommandLine.HelpCommand.class
    })
public final class SparkGpt implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    try {
      SystemBlas.prefer(); // before anything loads ND4J
    } catch (IllegalArgumentException e) {
      System.err.println("sparkgpt: " + e.getMessage());
      System.exit(2);
    }
    SparkRuntime.widenCommonPool();
    System.exit(run(args));
  }

  /** Runs a command line and returns the exit code: 0 ok, 1 failure, 2 usage or user error. */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new SparkGpt());
    cl.setParameterExceptionHandler(
        (ex, a) -> {
          PrintWriter err = ex.getCommandLine().getErr();
          err.println(
              ex.getCommandLine().getCommandName()
                  + ": "
                  + ex.getMessage()
                  + " (see '"
                  + ex.getCommandLine().getCommandSpec().qualifiedName()
                  + " --help')");
          return 2;
        });
    cl.setExecutionStrategy(
        parsed -> {
          Settings.check(parsed);
          return new CommandLine.RunLast().execute(parsed);
        });
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          PrintWriter err = commandLine.getErr();
          boolean verbose =
              parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
          if (verbose) {
            ex.printStackTrace(err);
          }
          Throwable user = find(ex, UserError.class);
          if (user != null) {
            err.println(commandLine.getCommandName() + ": " + user.getMessage());
            return 2;
          }
          String oom = outOfMemory(ex);
          if (oom != null) {
            err.println(commandLine.getCommandName() + ": " + oom);
            return 1;
          }
          err.println(
              commandLine.getCommandName()
                  + ": failed: "
                  + oneLine(ex)
                  + (verbose ? "" : " (run with --verbose for details)"));
          return 1;
        });
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) { // an Error: picocli's handlers see only Exceptions
      cl.getErr().println("sparkgpt: " + outOfMemory(e));
      cl.getErr().flush();
      return 1;
    }
  }

  /**
   * One line naming the memory setting to raise when {@code t} is, or was caused by, running out of
   * memory (in this JVM, or in an executor: Spark then reports it in a message); null otherwise.
   */
  static String outOfMemory(Throwable t) {
    boolean here = find(t, OutOfMemoryError.class) != null;
    boolean executor = false;
    for (Throwable c = t; c != null && !here; c = c.getCause()) {
      executor |= c.getMessage() != null && c.getMessage().contains("java.lang.OutOfMemoryError");
    }
    if (!here && !executor) {
      return null;
    }
    String heap =
        "the driver's heap (SPARKGPT_DRIVER_MEMORY, now "
            + Runtime.getRuntime().maxMemory() / (1 << 20)
            + " MB; spark.driver.memory with spark-submit)";
    return "out of memory: raise "
        + (here ? heap : "spark.executor.memory (an executor ran out of heap)")
        + ", or make the job smaller (--batch-size, --partitions, the model)";
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
  }

  static Throwable find(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return c;
      }
    }
    return null;
  }

  /** The deepest cause's first line: Spark wraps the interesting exception several times. */
  static String oneLine(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg =
        root.getMessage() == null
            ? root.getClass().getSimpleName()
            : root.getClass().getSimpleName() + ": " + root.getMessage();
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }
}
