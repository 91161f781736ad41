package org.colaedge.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.colaedge.coordinator.actors.JobSharding;
import org.colaedge.coordinator.model.BaseModel;

/** Starting real cluster nodes: configuration (HOCON + environment overrides) and job sharding. */
final class Nodes {

    /** The ActorSystem name every node of a ColA Edge cluster shares. */
    static final String SYSTEM = "colaedge";

    private Nodes() {
    }

    /**
     * The node's configuration: command-line values over application.conf / environment
     * (COLAEDGE_HOSTNAME, COLAEDGE_PORT) over the modules' reference.conf.
     */
    static Config config(String role, String hostname, Integer port, String seed) {
        StringBuilder s = new StringBuilder("pekko.cluster.roles = [\"" + role + "\"]\n");
        if (hostname != null) {
            s.append("colaedge.cluster.hostname = \"").append(hostname).append("\"\n");
        }
        if (port != null) {
            s.append("colaedge.cluster.port = ").append(port).append('\n');
        }
        if (seed != null) {
            String[] hp = seed.split(":");
            if (hp.length != 2) {
                throw new IllegalArgumentException("--seed must be HOST:PORT, was '" + seed + "'");
            }
            s.append("pekko.cluster.seed-nodes = [\"pekko://" + SYSTEM + "@" + hp[0] + ":" + Integer.parseInt(hp[1]) + "\"]\n");
        }
        return ConfigFactory.load(ConfigFactory.parseString(s.toString()));
    }

    /** Job entities live on coordinator nodes; other nodes get a proxy. */
    static void initJobs(ActorSystem<?> system, Map<String, BaseModel> models) {
        JobSharding.init(system, models);
    }

    static ActorSystem<Void> start(Behavior<Void> guardian, Config config) {
        return ActorSystem.create(guardian, SYSTEM, config);
    }
}
