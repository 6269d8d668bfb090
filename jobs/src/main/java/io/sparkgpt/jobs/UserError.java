package io.sparkgpt.jobs;

/**
 * A problem the user can fix (bad flag value, missing input, existing output): one line, exit code
 * 2.
 */
public final class UserError extends RuntimeException {
  public UserError(String message) {
    super(message, null, false, false);
  }
}
