package org.colaedge.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code colaedge} command line. */
@Command(name = "colaedge",
        mixinStandardHelpOptions = true,
        versionProvider = ColaEdge.Version.class,
        description = {
            "ColA Edge: fine-tuning as a service with Collaborative Adaptation.",
            "A coordinator owning a frozen base model computes hidden gradients; edge devices fit their adapters by gradient learning."
        },
        subcommands = {VerifyCommand.class, PretrainCommand.class, TrainCommand.class, SimulateCommand.class, CompareCommand.class,
                CoordinatorCommand.class, EdgeCommand.class, BenchCommand.class, SimEdgeCommand.class, CommandLine.HelpCommand.class})
public final class ColaEdge implements Runnable {

    /** Exit codes shared by all subcommands. */
    public static final int EXIT_OK = 0;
    public static final int EXIT_CHECK_FAILED = 1;
    /** Bad arguments or option values. */
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_ERROR = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.setOut(new SameDiffNoiseFilter(System.out));
        int code = commandLine().execute(args);
        System.exit(code);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new ColaEdge());
        cl.setExitCodeExceptionMapper(e -> EXIT_ERROR);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("colaedge: " + ex.getMessage());
            ex.getCommandLine().usage(err);
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, command, parseResult) -> {
            command.getErr().println("colaedge " + command.getCommandName() + ": " + ex.getMessage());
            // Invalid option values found while running are usage errors; everything else (I/O, data) is a failure.
            return ex instanceof IllegalArgumentException ? EXIT_USAGE : EXIT_ERROR;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = ColaEdge.class.getPackage().getImplementationVersion();
            return new String[] {"colaedge " + (v == null ? "(development build)" : v) + ", wire protocol v1"};
        }
    }
}
