package io.sparkgpt.model;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * The model's tests run on the OpenBLAS the launcher picks ({@link SystemBlas}): chosen when the
 * test JVM's JUnit session opens, before any test loads ND4J.
 */
public final class SystemBlasSession implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    SystemBlas.prefer();
  }
}
