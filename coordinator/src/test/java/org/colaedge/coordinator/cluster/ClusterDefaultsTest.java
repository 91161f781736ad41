package org.colaedge.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.colaedge.common.cluster.ClusterSettings;
import org.junit.jupiter.api.Test;

/**
 * colaedge-common's reference.conf overrides some of pekko-remote's defaults, which only works if
 * it comes first on the classpath. Checked here, in a module that depends on common, where it
 * matters.
 */
class ClusterDefaultsTest {

    @Test
    void colaEdgeClusterDefaultsWinOverPekkosOwn() {
        Config config = ConfigFactory.load();
        ClusterSettings settings = ClusterSettings.fromConfig(config); // throws if Pekko's 256 KiB frame won
        assertThat(config.getBytes("pekko.remote.artery.advanced.maximum-frame-size")).isEqualTo(settings.maximumMessageSize());
        assertThat(config.getString("pekko.actor.provider")).isEqualTo("cluster");
        assertThat(config.getString("pekko.actor.serialization-bindings.\"org.colaedge.common.cluster.WireEnvelope\""))
                .isEqualTo("colaedge-wire-envelope");
    }
}
