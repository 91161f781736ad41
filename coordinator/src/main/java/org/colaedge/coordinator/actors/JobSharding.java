package org.colaedge.coordinator.actors;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;

/**
 * Sets up job hosting on a node: the compute pool, one {@link ModelBatcher} per base model, and the
 * {@link JobEntity} sharding (entities only on role {@code coordinator}; other nodes get a proxy).
 * Settings from {@code colaedge.coordinator.*} and {@code colaedge.cluster.maximum-message-size}.
 */
public final class JobSharding {

    private JobSharding() {
    }

    public static void init(ActorSystem<?> system, Map<String, BaseModel> models) {
        Config c = system.settings().config();
        ComputePool pool = new ComputePool(system, models);
        Map<String, ActorRef<ModelBatcher.Command>> batchers = new LinkedHashMap<>();
        int maxRows = c.getInt("colaedge.coordinator.batching.max-rows");
        var maxWait = c.getDuration("colaedge.coordinator.batching.max-wait");
        int maxSegments = c.getInt("colaedge.coordinator.batching.max-segments");
        for (String name : models.keySet()) {
            batchers.put(name, system.systemActorOf(ModelBatcher.create(name, pool, maxRows, maxSegments, maxWait), "batcher-" + name, Props.empty()));
        }
        WireMapping wire = new WireMapping(new TensorCodec(c.getBytes("colaedge.cluster.maximum-message-size")));
        int maxPending = c.getInt("colaedge.coordinator.max-pending-batches");
        ClusterSharding sharding = ClusterSharding.get(system);
        // A group's state (its members' latest adapters and sample counts) is not held anywhere else:
        // groups are never passivated for idleness. Jobs are (Pekko's default idle strategy): their
        // devices rebuild them on return.
        sharding.init(Entity.of(GroupEntity.TYPE_KEY, ctx -> GroupEntity.create(ctx.getEntityId(), wire)).withRole("coordinator")
                .withSettings(org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings.create(system).withNoPassivationStrategy()));
        sharding.init(Entity.of(JobEntity.TYPE_KEY,
                        ctx -> JobEntity.create(ctx.getEntityId(), pool, Map.copyOf(batchers), wire, maxPending,
                                group -> sharding.entityRefFor(GroupEntity.TYPE_KEY, group)))
                .withRole("coordinator"));
    }
}
