package org.colaedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ColaEdgeCliTest {

    private record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private static Run run(String... args) {
        CommandLine cl = ColaEdge.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void verifyPrintsATableAndTheContractLastLine() {
        Run r = run("verify");
        assertThat(r.exitCode()).as(r.err()).isZero();
        String last = r.lines().get(r.lines().size() - 1);
        assertThat(last).matches("verify: \\d+ passed, 0 failed, max relative error [0-9.]+e[-+]\\d+");
        int passed = Integer.parseInt(last.replaceAll("verify: (\\d+) passed.*", "$1"));
        long passRows = r.lines().stream().filter(l -> l.endsWith("PASS")).count();
        assertThat(passRows).isEqualTo(passed).isGreaterThanOrEqualTo(20);
        for (String kind : List.of("LOW_RANK", "LINEAR", "MLP", "CONV_LOW_RANK")) {
            assertThat(r.lines()).anyMatch(l -> l.startsWith(kind + " ") && l.contains("prop1"));
        }
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("verify").contains("bench");
        assertThat(run("bench", "--help").out()).contains("codec");
    }

    @Test
    void badArgumentsExitWithUsageCode() {
        Run r = run("verify", "--seed", "not-a-number");
        assertThat(r.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
        assertThat(r.err()).contains("--seed").contains("not-a-number");
        assertThat(run("no-such-command").exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
    }
}
