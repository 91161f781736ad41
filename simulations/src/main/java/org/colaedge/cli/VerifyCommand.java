package org.colaedge.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.common.verify.Check;
import org.colaedge.common.verify.ColaVerification;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge verify}: ColA's gradient learning against back-propagation, every adapter kind. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        header = "Prove that gradient learning equals back-propagation, every adapter kind.",
        description = {
            "Proves that gradient learning equals back-propagation for every adapter kind (LOW_RANK, LINEAR, MLP,",
            "CONV_LOW_RANK), against SameDiff autodiff of the whole adapted network, in float32:",
            "  Proposition 1 (single pass), the literal GL loss, merged = unmerged forward,",
            "  100 SGD steps with I=1 (unmerged and merged) and I=4 (= 4-batch gradient accumulation).",
            "Prints a table and a last line 'verify: N passed, M failed, max relative error X'.",
            "Exit code 0 if every check passed, 1 otherwise."
        })
final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--seed", defaultValue = "20240421", description = "Seed of data, base weights and adapters (default: ${DEFAULT-VALUE}).")
    long seed;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        java.io.PrintWriter out = spec.commandLine().getOut();
        String row = "%-14s %-52s %12s %12s %10s  %s%n";
        out.printf(row, "adapter", "check", "max abs err", "max rel err", "tolerance", "result");
        out.println("-".repeat(112));
        List<Check> checks = new ColaVerification(seed).runAll(c -> out.printf(row, c.adapterKind(), c.check(),
                String.format("%.3e", c.maxAbsError()), String.format("%.3e", c.maxRelError()),
                String.format("%.0e", c.tolerance()), c.passed() ? "PASS" : "FAIL (" + c.detail() + ")"));
        long passed = checks.stream().filter(Check::passed).count();
        long failed = checks.size() - passed;
        double maxRel = checks.stream().mapToDouble(Check::maxRelError).max().orElse(0);
        out.println("-".repeat(112));
        out.printf("verify: %d passed, %d failed, max relative error %.3e%n", passed, failed, maxRel);
        out.flush();
        return failed == 0 ? ColaEdge.EXIT_OK : ColaEdge.EXIT_CHECK_FAILED;
    }
}
