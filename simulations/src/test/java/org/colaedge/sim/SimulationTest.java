package org.colaedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.data.Datasets;
import org.colaedge.common.data.ImageDataset;
import org.colaedge.common.data.Partition;
import org.colaedge.common.data.Split;
import org.colaedge.common.learning.LearningRateSchedule;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.LayerSpec;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.edge.DeviceActor;
import org.colaedge.sim.report.MetricsRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * In-JVM simulation runs end to end (coordinator node, job and group entities, batcher, devices as
 * actors), checked against numbers computed another way: the served model's accuracy is recomputed
 * from the devices' own final adapters with a plain ND4J forward pass.
 */
class SimulationTest {

    @TempDir
    Path dir;

    static SimulationSetup setup(Scenario s) {
        ImageDataset all = Datasets.load(s.dataset());
        Split split = Split.stratified(all, s.testFraction(), s.seed());
        Split small = Split.stratified(split.train(), 1.0 - (double) s.limit() / split.train().size(), s.seed() + 1);
        Split data = new Split(small.train(), split.test());
        BaseModel base = BaseModel.mlp(new long[] {784}, List.of(32, 16), 10, s.seed() + 7);
        int[][] users = Partition.iid(data.train().labels(), s.users(), s.seed());
        return new SimulationSetup(s, data, users, base, new AdapterPlan(s.adapter(), s.rank(), s.scaling(), s.mlpHidden()),
                steps -> new OptimizerConfig(s.optimizer(), s.lr(), s.momentum(), 0.9, 0.999, 1e-8, s.weightDecay(), s.clip(),
                        new LearningRateSchedule.Cosine((int) steps, 0.0)));
    }

    @Test
    void collaborationServesTheSampleWeightedMeanOfItsDevices() throws Exception {
        Scenario s = Scenario.load("quick", List.of("users = 3", "limit = 900", "epochs = 2", "batch = 90", "lr = 0.1", "references = []"));
        SimulationSetup setup = setup(s);
        Simulation.Outcome o = new Simulation(setup).run(dir, new Simulation.Listener() { }, seed -> List.of());

        assertThat(o.rows()).hasSize(2);
        assertThat(o.rows().get(1).step()).isEqualTo(new Simulation(setup).totalSteps());
        assertThat(o.devices()).hasSize(3);
        assertThat(o.errors()).isZero();
        // The group's model, rebuilt from the devices' final adapters weighted by their samples.
        double[] weights = new double[3];
        List<Map<String, Adapter>> finals = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            weights[k] = (double) setup.users()[k].length * s.epochs();
            finals.add(withParameters(setup.adapters(k), o.devices().get(k)));
        }
        double expected = accuracy(setup, layer -> {
            INDArray dW = null;
            INDArray dB = null;
            double total = weights[0] + weights[1] + weights[2];
            for (int k = 0; k < 3; k++) {
                Adapter a = finals.get(k).get(layer);
                dW = dW == null ? a.deltaWeight().mul(weights[k] / total) : dW.add(a.deltaWeight().mul(weights[k] / total));
                dB = dB == null ? a.deltaBias().mul(weights[k] / total) : dB.add(a.deltaBias().mul(weights[k] / total));
            }
            return new INDArray[] {dW, dB};
        });
        assertThat(o.finalAccuracy()).isCloseTo(expected, org.assertj.core.data.Offset.offset(2.0 / setup.data().test().size()));
        double frozen = accuracy(setup, layer -> new INDArray[] {null, null});
        assertThat(o.finalAccuracy()).as("it learned: the frozen base scores " + frozen).isGreaterThan(frozen + 0.05);
        // Bytes: at least the raw inputs and labels of every step reached the coordinator.
        long rawIn = (long) (784 + 10) * 4 * 900 * s.epochs();
        MetricsRow last = o.rows().get(1);
        assertThat(last.bytesReceived()).isGreaterThan(rawIn);
        assertThat(last.bytesSent()).isGreaterThan(0);
        assertThat(last.deviceBusySeconds()).isGreaterThan(0);
    }

    @Test
    void aloneUsersAreEvaluatedWithTheirOwnAdapters() throws Exception {
        Scenario s = Scenario.load("quick", List.of("users = 2", "limit = 600", "epochs = 1", "batch = 60", "mode = ALONE",
                "merge = false", "adapter = LOW_RANK", "references = []"));
        SimulationSetup setup = setup(s);
        Simulation.Outcome o = new Simulation(setup).run(dir, new Simulation.Listener() { }, seed -> List.of());
        for (int k = 0; k < 2; k++) {
            Map<String, Adapter> mine = withParameters(setup.adapters(k), o.devices().get(k));
            double expected = accuracy(setup, layer -> new INDArray[] {mine.get(layer).deltaWeight(), null});
            assertThat(o.finalUserAccuracy()[k]).as("user " + k).isCloseTo(expected,
                    org.assertj.core.data.Offset.offset(2.0 / setup.data().test().size()));
        }
    }

    @Test
    void synchronousRunsRepeatTheirNumbers() throws Exception {
        Scenario s = Scenario.load("quick", List.of("users = 3", "limit = 900", "epochs = 2", "batch = 90", "lr = 0.1",
                "run.synchronous = true", "references = []"));
        List<MetricsRow> first = new Simulation(setup(s)).run(dir.resolve("a"), new Simulation.Listener() { }, seed -> List.of()).rows();
        List<MetricsRow> second = new Simulation(setup(s)).run(dir.resolve("b"), new Simulation.Listener() { }, seed -> List.of()).rows();
        assertThat(first).hasSize(2);
        for (int e = 0; e < 2; e++) {
            MetricsRow a = first.get(e);
            MetricsRow b = second.get(e);
            assertThat(b.step()).isEqualTo(a.step());
            assertThat(b.trainLoss()).as("epoch %d loss", e + 1).isEqualTo(a.trainLoss());
            assertThat(b.testAccuracy()).as("epoch %d accuracy", e + 1).isEqualTo(a.testAccuracy());
            assertThat(b.meanStaleness()).isEqualTo(a.meanStaleness());
            assertThat(b.bytesSent()).isEqualTo(a.bytesSent());
            // received bytes include each batch's device-busy-time field, a varint whose length follows the timing
            assertThat((double) b.bytesReceived()).isCloseTo(a.bytesReceived(), org.assertj.core.data.Offset.offset(a.step() * 4.0));
        }
    }

    @Test
    void badScenarioValuesNameTheirKey() {
        assertThatThrownBy(() -> Scenario.load("quick", List.of("users = 0"))).hasMessageContaining("'users'");
        assertThatThrownBy(() -> Scenario.load("quick", List.of("mode = SOLO"))).hasMessageContaining("'mode'").hasMessageContaining("ALONE");
        assertThatThrownBy(() -> Scenario.load("quick", List.of("devices.speed = [2.0]"))).hasMessageContaining("devices.speed");
        assertThatThrownBy(() -> Scenario.load("no-such-scenario", List.of())).hasMessageContaining("no built-in scenario");
        assertThatThrownBy(() -> Scenario.load("quick", List.of("epochs = ten"))).hasMessageContaining("epochs");
    }

    @Test
    void everyBuiltInScenarioLoads() {
        for (String name : Scenario.BUILT_IN) {
            assertThat(Scenario.load(name, List.of()).name()).isEqualTo(name);
        }
    }

    static Map<String, Adapter> withParameters(Map<String, Adapter> template, DeviceActor.State state) {
        state.parameters().forEach((layer, params) -> template.get(layer).setParams(params));
        return template;
    }

    /** Test accuracy of the MLP base with W + alpha dW, b + alpha db per layer: a plain ND4J forward pass. */
    static double accuracy(SimulationSetup setup, java.util.function.Function<String, INDArray[]> deltas) {
        BaseModel base = setup.base();
        ImageDataset test = setup.data().test();
        int[] idx = java.util.stream.IntStream.range(0, test.size()).toArray();
        INDArray h = test.features(idx);
        for (LayerSpec l : base.layers()) {
            if (l instanceof LayerSpec.Dense d) {
                INDArray[] delta = deltas.apply(d.name());
                float alpha = setup.scenario().scaling();
                INDArray w = delta[0] == null ? base.weight(d.name()) : base.weight(d.name()).add(delta[0].mul(alpha));
                INDArray b = delta[1] == null ? base.bias(d.name()) : base.bias(d.name()).add(delta[1].mul(alpha));
                h = h.mmul(w).addRowVector(b);
            } else if (l instanceof LayerSpec.Relu) {
                h = Transforms.relu(h);
            }
        }
        INDArray predicted = h.argMax(1);
        long correct = 0;
        for (int i = 0; i < test.size(); i++) {
            if (predicted.getInt(i) == test.label(i)) {
                correct++;
            }
        }
        return (double) correct / test.size();
    }
}
