package org.colaedge.cli;

import picocli.CommandLine.Command;

/** {@code colaedge bench ...}: benchmarks that print figures (never timed unit tests). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        header = "Benchmarks that print their figures (codec, coordinator, wire, e2e).",
        description = "Benchmarks that print their figures.",
        subcommands = {BenchCodecCommand.class, BenchCoordinatorCommand.class, BenchWireCommand.class, BenchEndToEndCommand.class})
final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
