package org.colaedge.sim.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunFolderTest {

    @TempDir
    Path base;

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-04T05:06:07Z"), ZoneOffset.UTC);

    @Test
    void namesFolderAfterStartTimeAndScenarioAndKeepsRunsApart() throws Exception {
        RunFolder first = RunFolder.create(base.resolve("runs"), "COLA_MERGED", CLOCK);
        RunFolder second = RunFolder.create(base.resolve("runs"), "COLA_MERGED", CLOCK);
        RunFolder third = RunFolder.create(base.resolve("runs"), "COLA_MERGED", CLOCK);

        assertThat(first.dir().getFileName()).hasToString("20250304-050607-COLA_MERGED");
        assertThat(second.dir().getFileName()).hasToString("20250304-050607-COLA_MERGED-2");
        assertThat(third.dir().getFileName()).hasToString("20250304-050607-COLA_MERGED-3");
        assertThat(first.dir()).isDirectory();
        assertThat(second.dir()).isDirectory();
        assertThat(third.dir()).isDirectory();
    }

    @Test
    void makesScenarioNamesSafeForFileNames() {
        assertThat(RunFolder.safeName(" ColA (merged) / 8 users ")).isEqualTo("ColA-merged-8-users");
        assertThatThrownBy(() -> RunFolder.safeName("//")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'//'");
        assertThatThrownBy(() -> RunFolder.safeName("..")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pathsStayInsideTheFolder() throws Exception {
        RunFolder run = RunFolder.create(base, "s", CLOCK);

        assertThat(run.path("metrics.csv")).isEqualTo(run.dir().resolve("metrics.csv"));
        assertThat(run.path("plots/accuracy.png")).isEqualTo(run.dir().resolve("plots").resolve("accuracy.png"));
        for (String bad : new String[] {"../x", "/etc/passwd", "", "a/../.."}) {
            assertThatThrownBy(() -> run.path(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void writesTheResolvedConfigWithoutOriginComments() throws Exception {
        RunFolder run = RunFolder.create(base, "s", CLOCK);

        Path file = run.writeResolvedConfig(ConfigFactory.parseString("colaedge { users = 8, name = \"a b\" }").resolve());

        String text = Files.readString(file);
        assertThat(file.getFileName()).hasToString("config.conf");
        assertThat(text).doesNotContain("# String:").doesNotContain("{\"");
        assertThat(ConfigFactory.parseString(text).getInt("colaedge.users")).isEqualTo(8);
        assertThat(ConfigFactory.parseString(text).getString("colaedge.name")).isEqualTo("a b");
    }
}
