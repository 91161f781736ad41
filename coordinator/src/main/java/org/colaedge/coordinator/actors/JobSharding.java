package org.colaedge.coordinator.actors;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.snapshot.SnapshotStore;

/**
 * Sets up job hosting on a node: the compute pool, one {@link ModelBatcher} per base model, the
 * node's {@link DeviceRegistry}, the snapshot store, and the {@link JobEntity} / {@link GroupEntity}
 * sharding (entities only on role {@code coordinator}; other nodes get a proxy). Settings from
 * {@code colaedge.coordinator.*} ({@link CoordinatorSettings}) and {@code colaedge.cluster.maximum-message-size}.
 */
public final class JobSharding {

    private JobSharding() {
    }

    public static void init(ActorSystem<?> system, Map<String, BaseModel> models) {
        CoordinatorSettings settings = CoordinatorSettings.fromConfig(system.settings().config());
        ComputePool pool = new ComputePool(system, models);
        Map<String, ActorRef<ModelBatcher.Command>> batchers = new LinkedHashMap<>();
        for (String name : models.keySet()) {
            batchers.put(name, system.systemActorOf(ModelBatcher.create(name, pool, settings.maxRows(), settings.maxSegments(), settings.maxWait()),
                    "batcher-" + name, Props.empty()));
        }
        WireMapping wire = new WireMapping(new TensorCodec(system.settings().config().getBytes("colaedge.cluster.maximum-message-size")));
        SnapshotStore snapshots = SnapshotStore.at(settings.snapshotDir());
        ActorRef<DeviceRegistry.Command> registry = system.systemActorOf(DeviceRegistry.create(), "device-registry", Props.empty());
        ClusterSharding sharding = ClusterSharding.get(system);
        JobEntity.Node node = new JobEntity.Node(pool, Map.copyOf(batchers), wire, settings, snapshots, registry,
                group -> sharding.entityRefFor(GroupEntity.TYPE_KEY, group), Cluster.get(system).selfMember().address().toString());
        // Neither entity uses Pekko's idle passivation: a group's state is needed by all its members,
        // and a job decides itself (job-idle-timeout), because a job paused for its away device
        // must stay in memory.
        ClusterShardingSettings noPassivation = ClusterShardingSettings.create(system).withNoPassivationStrategy();
        sharding.init(Entity.of(GroupEntity.TYPE_KEY, ctx -> GroupEntity.create(ctx.getEntityId(), wire, settings, snapshots))
                .withRole("coordinator").withSettings(noPassivation));
        sharding.init(Entity.of(JobEntity.TYPE_KEY, ctx -> JobEntity.create(ctx.getEntityId(), node, ctx.getShard()))
                .withRole("coordinator").withSettings(noPassivation));
    }
}
