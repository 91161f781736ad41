package org.colaedge.coordinator.actors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CoordinatorSettingsTest {

    @Test
    void theDefaultsComeFromReferenceConf() {
        CoordinatorSettings s = CoordinatorSettings.fromConfig(ConfigFactory.load());
        String env = System.getenv("COLAEDGE_SNAPSHOT_DIR");
        assertThat(s.snapshotDir()).isEqualTo(env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".colaedge", "snapshots"));
        assertThat(s.snapshotEvery()).isEqualTo(1);
        assertThat(s.deviceAwayPolicy()).isEqualTo(CoordinatorSettings.DeviceAwayPolicy.PAUSE);
        assertThat(s.deviceAwayTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(s.jobIdleTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(s.maxPendingBatches()).isEqualTo(8);
    }

    @Test
    void anEmptyDirectoryTurnsSnapshotsOffAndABadPolicyIsNamed() {
        CoordinatorSettings s = CoordinatorSettings.fromConfig(ConfigFactory.load(ConfigFactory.parseString("""
                colaedge.coordinator.snapshots.dir = ""
                colaedge.coordinator.device-away.policy = continue
                """)));
        assertThat(s.snapshotDir()).isNull();
        assertThat(s.deviceAwayPolicy()).isEqualTo(CoordinatorSettings.DeviceAwayPolicy.CONTINUE);
        assertThatThrownBy(() -> CoordinatorSettings.fromConfig(ConfigFactory.load(ConfigFactory.parseString(
                "colaedge.coordinator.device-away.policy = wait"))))
                .hasMessageContaining("device-away.policy must be pause or continue, was 'wait'");
    }
}
