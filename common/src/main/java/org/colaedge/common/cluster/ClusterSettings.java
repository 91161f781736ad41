package org.colaedge.common.cluster;

import com.typesafe.config.Config;

/**
 * The {@code colaedge.cluster} settings, read once from configuration (defaults in
 * {@code reference.conf}), plus a check that the Pekko settings they feed really took effect.
 *
 * <p>Build the ActorSystem's configuration with {@code ConfigFactory.load(overrides)}: the Pekko keys
 * in {@code reference.conf} are substitutions of these, so an override of
 * {@code colaedge.cluster.port} also moves {@code pekko.remote.artery.canonical.port}.
 *
 * @param hostname           host name or address other nodes reach this node at (and Artery binds to)
 * @param port               Artery TCP port, 0 for any free port
 * @param maximumMessageSize largest serialized message, Artery header included, in bytes
 */
public record ClusterSettings(String hostname, int port, long maximumMessageSize) {

    /** Cluster role of the nodes that run the base model and the Job entities. */
    public static final String COORDINATOR_ROLE = "coordinator";
    /** Cluster role of the nodes that own data and train adapters. */
    public static final String EDGE_ROLE = "edge";

    /** The ActorSystem name every node of a ColA Edge cluster shares (seed-node addresses contain it). */
    public static final String SYSTEM_NAME = "colaedge";

    private static final String FRAME_SIZE = "pekko.remote.artery.advanced.maximum-frame-size";
    private static final String LARGE_FRAME_SIZE = "pekko.remote.artery.advanced.maximum-large-frame-size";
    private static final String LARGE_DESTINATIONS = "pekko.remote.artery.large-message-destinations";

    public ClusterSettings {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("colaedge.cluster.port must be 0..65535, was " + port);
        }
        if (maximumMessageSize <= 0 || maximumMessageSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("colaedge.cluster.maximum-message-size must be 1 B..2 GiB, was " + maximumMessageSize);
        }
    }

    /**
     * A node's configuration: these values over application.conf / environment (COLAEDGE_HOSTNAME,
     * COLAEDGE_PORT) over the modules' reference.conf.
     *
     * @param hostname null: from configuration
     * @param port     null: from configuration; 0: any free port
     * @param seed     HOST:PORT of a seed node (null: none)
     * @param hocon    further settings, HOCON ("" for none)
     */
    public static Config nodeConfig(String role, String hostname, Integer port, String seed, String hocon) {
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
            s.append("pekko.cluster.seed-nodes = [\"pekko://" + SYSTEM_NAME + "@" + hp[0] + ":" + Integer.parseInt(hp[1]) + "\"]\n");
        }
        s.append(hocon).append('\n');
        return com.typesafe.config.ConfigFactory.load(com.typesafe.config.ConfigFactory.parseString(s.toString()));
    }

    /**
     * Reads {@code colaedge.cluster} from a resolved configuration and checks that the Pekko
     * settings it needs are in effect.
     *
     * @throws IllegalStateException naming the setting, if Pekko would drop messages this node may send,
     *                               or is not configured as a cluster node
     */
    public static ClusterSettings fromConfig(Config config) {
        Config c = config.getConfig("colaedge.cluster");
        ClusterSettings settings = new ClusterSettings(c.getString("hostname"), c.getInt("port"),
                c.getBytes("maximum-message-size"));
        settings.checkPekko(config);
        return settings;
    }

    private void checkPekko(Config config) {
        String provider = config.getString("pekko.actor.provider");
        if (!provider.equals("cluster") && !provider.endsWith("ClusterActorRefProvider")) {
            throw new IllegalStateException("pekko.actor.provider is '" + provider + "', ColA Edge nodes need 'cluster'");
        }
        requireAtLeast(config, FRAME_SIZE);
        if (!config.getStringList(LARGE_DESTINATIONS).isEmpty()) {
            requireAtLeast(config, LARGE_FRAME_SIZE);
        }
    }

    private void requireAtLeast(Config config, String path) {
        long actual = config.getBytes(path);
        if (actual < maximumMessageSize) {
            throw new IllegalStateException(path + " is " + actual + " bytes, below colaedge.cluster.maximum-message-size ("
                    + maximumMessageSize + " bytes): larger messages would be dropped. Either application.conf lowered it, "
                    + "or another jar's reference.conf came before colaedge-common's on the classpath.");
        }
    }
}
