package org.colaedge.cli;

import com.typesafe.config.Config;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.colaedge.common.cluster.ClusterSettings;
import org.colaedge.coordinator.actors.JobSharding;
import org.colaedge.coordinator.model.BaseModel;

/** Starting real cluster nodes: configuration (HOCON + environment overrides) and job sharding. */
final class Nodes {

    /** The ActorSystem name every node of a ColA Edge cluster shares. */
    static final String SYSTEM = ClusterSettings.SYSTEM_NAME;

    private Nodes() {
    }

    /**
     * The node's configuration: command-line values over application.conf / environment
     * (COLAEDGE_HOSTNAME, COLAEDGE_PORT) over the modules' reference.conf.
     */
    static Config config(String role, String hostname, Integer port, String seed) {
        return ClusterSettings.nodeConfig(role, hostname, port, seed, "");
    }

    /** Job entities live on coordinator nodes; other nodes get a proxy. */
    static void initJobs(ActorSystem<?> system, Map<String, BaseModel> models) {
        JobSharding.init(system, models);
    }

    static ActorSystem<Void> start(Behavior<Void> guardian, Config config) {
        return ActorSystem.create(guardian, SYSTEM, config);
    }
}
