package org.colaedge.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.colaedge.common.metrics.MetricsLog;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.BaseModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge coordinator}: a coordinator node serving base models to jobs. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        header = "Run a coordinator node (cluster role 'coordinator').",
        description = {
            "Starts a coordinator node: it hosts fine-tuning jobs (Cluster Sharding entities) and computes their",
            "hidden gradients on a dedicated dispatcher. Without --seed it founds the cluster (it is the seed node).",
            "Base models served: linear, mlp, cnn (random frozen, --model-seed, --classes) and any --model-file NAME=PATH.",
            "Configuration: HOCON (application.conf) with COLAEDGE_HOSTNAME / COLAEDGE_PORT / COLAEDGE_SNAPSHOT_DIR overrides.",
            "Job and group snapshots go to colaedge.coordinator.snapshots.dir; counters are logged every colaedge.metrics.log-interval.",
            "Stops on SIGTERM."
        })
final class CoordinatorCommand implements Callable<Integer> {

    @Option(names = "--hostname", description = "Address other nodes reach this node at (default: colaedge.cluster.hostname).")
    String hostname;

    @Option(names = "--port", description = "Port to listen on (default: colaedge.cluster.port, 7355).")
    Integer port;

    @Option(names = "--seed", description = "HOST:PORT of a node of an existing cluster to join.")
    String seed;

    @Option(names = "--classes", defaultValue = "10", description = "Outputs of the built-in bases (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--model-seed", defaultValue = "424242", description = "Seed of the built-in random frozen bases (default: ${DEFAULT-VALUE}).")
    long modelSeed;

    @Option(names = "--model-file", description = "Serve a base model file under a name: NAME=PATH (repeatable).")
    Map<String, java.nio.file.Path> modelFiles = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        Map<String, BaseModel> models = builtInModels(classes, modelSeed);
        for (Map.Entry<String, java.nio.file.Path> e : modelFiles.entrySet()) {
            models.put(e.getKey(), BaseModelFiles.load(e.getValue()));
        }
        ActorSystem<Void> system = Nodes.start(Behaviors.empty(), Nodes.config("coordinator", hostname, port, seed));
        Nodes.initJobs(system, models);
        java.time.Duration every = system.settings().config().getDuration("colaedge.metrics.log-interval");
        if (!every.isZero()) {
            system.systemActorOf(MetricsLog.create(every), "metrics-log", org.apache.pekko.actor.typed.Props.empty());
        }
        Cluster cluster = Cluster.get(system);
        if (seed == null) {
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        system.log().info("coordinator listening on {} serving base models {}", cluster.selfMember().address(), models.keySet());
        System.out.println("coordinator listening on " + cluster.selfMember().address().hostPort() + " serving " + models.keySet());
        system.getWhenTerminated().toCompletableFuture().join();
        return ColaEdge.EXIT_OK;
    }

    /** The paper's bases for 28x28 inputs; the device side builds the same architecture to derive adapter specs. */
    static Map<String, BaseModel> builtInModels(int classes, long seed) {
        Map<String, BaseModel> m = new LinkedHashMap<>();
        m.put("linear", BaseModel.linear(new long[] {784}, classes, seed));
        m.put("mlp", BaseModel.mlp(new long[] {784}, List.of(128, 256), classes, seed));
        m.put("cnn", BaseModel.cnn(new long[] {1, 28, 28}, List.of(64, 128, 256, 512), classes, seed));
        return m;
    }
}
