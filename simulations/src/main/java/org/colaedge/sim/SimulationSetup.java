package org.colaedge.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.data.Split;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.proto.v1.JobSpec;

/**
 * Everything a run derives from its scenario, the same in every JVM of a run: data split, the
 * users' partition, the frozen base, the adapter plan and, per device, its batches and job.
 *
 * @param optimizer the optimizer for a given number of optimizer steps (the schedule's length)
 */
public record SimulationSetup(Scenario scenario, Split data, int[][] users, BaseModel base, AdapterPlan plan,
                              LongFunction<OptimizerConfig> optimizer) {

    public static final String GROUP = "group";

    public String jobId(int k) {
        return "job-" + k;
    }

    public String deviceId(int k) {
        return "device-" + k;
    }

    /** Rows per step of device {@code k}: its share of the round's batch, at least 1. */
    public int deviceBatch(int k) {
        long total = 0;
        for (int[] u : users) {
            total += u.length;
        }
        return (int) Math.max(1, Math.round((double) scenario.batch() * users[k].length / total));
    }

    public DeviceBatches batches(int k) {
        return new DeviceBatches(data.train(), users[k], deviceBatch(k), scenario.epochs(), base.inputShape(), scenario.seed() * 31 + k);
    }

    /** Device {@code k}'s adapters as created (seeded per user). */
    public Map<String, Adapter> adapters(int k) {
        return new LinkedHashMap<>(plan.create(base, scenario.seed() + k));
    }

    public JobSpec jobSpec(int k) {
        JobSpec.Builder js = JobSpec.newBuilder().setJobId(jobId(k)).setDeviceId(deviceId(k)).setBaseModel(base.name())
                .setInterval(scenario.interval()).setMerged(scenario.merge() || scenario.mode() == Mode.COL);
        if (scenario.mode() == Mode.COL) {
            js.setGroupId(GROUP).setSynchronous(scenario.synchronous()).setDataSamples(users[k].length);
        }
        for (Adapter a : adapters(k).values()) {
            js.addAdapters(WireMapping.toProto(a.spec()));
        }
        return js.build();
    }

    /** The optimizer of a device with these batches, its schedule as long as its optimizer steps. */
    public OptimizerConfig deviceOptimizer(DeviceBatches batches) {
        return optimizer.apply((batches.steps() + scenario.interval() - 1) / scenario.interval());
    }

    public List<Integer> devices() {
        List<Integer> out = new ArrayList<>();
        for (int k = 0; k < users.length; k++) {
            out.add(k);
        }
        return out;
    }
}
