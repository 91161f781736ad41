package org.colaedge.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options of the commands that run scenarios ({@code simulate}, {@code compare}): where run folders go, and what the terminal shows. */
final class RunOptions {

    @Option(names = "--out", defaultValue = "runs", description = "Folder for run folders (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar (for CI and logs).")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "Also show the nodes' INFO log lines (jobs started, devices resumed, ...).")
    boolean verbose;
}
