package org.colaedge.coordinator.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.learning.ParameterOptimizer;
import org.colaedge.coordinator.model.AutodiffGraph;
import org.colaedge.coordinator.model.BaseModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * PEFT_SERVER: the same adapters as ColA, trained by ordinary back-propagation (SameDiff autodiff)
 * with the optimizer on the server — what a LoRA user runs today. ALONE: one adapter set per user,
 * each trained on its own rows; COL: one adapter set trained on everybody's rows.
 */
public final class PeftServerTrainer implements Trainer {

    private final Mode mode;
    private final List<Map<String, Adapter>> adapters = new ArrayList<>();
    private final List<AutodiffGraph> graphs = new ArrayList<>();
    private final List<ParameterOptimizer> optimizers = new ArrayList<>();

    public PeftServerTrainer(BaseModel model, AdapterPlan plan, int users, Mode mode, OptimizerConfig optimizer, long seed) {
        this.mode = mode;
        int models = mode == Mode.COL ? 1 : users;
        for (int u = 0; u < models; u++) {
            Map<String, Adapter> a = plan.create(model, seed + u);
            adapters.add(a);
            graphs.add(new AutodiffGraph(model, a, AutodiffGraph.Trainable.ADAPTERS));
            Map<String, Long> sizes = new LinkedHashMap<>();
            a.forEach((k, v) -> sizes.put(k, v.numParams()));
            optimizers.add(new ParameterOptimizer(optimizer, sizes));
        }
    }

    @Override
    public TrainerKind kind() {
        return TrainerKind.PEFT_SERVER;
    }

    @Override
    public double step(Batch batch) {
        if (mode == Mode.COL) {
            return train(0, batch.input(), batch.oneHot());
        }
        double sum = 0;
        int first = 0;
        for (UserRows ur : batch.users()) {
            var rows = NDArrayIndex.interval(first, first + ur.rows());
            sum += train(ur.user(), batch.input().get(rows), batch.oneHot().get(rows));
            first += ur.rows();
        }
        return sum / batch.users().size();
    }

    private double train(int model, INDArray x, INDArray y) {
        AutodiffGraph.Gradients g = graphs.get(model).gradients(x, y);
        Map<String, INDArray> params = new LinkedHashMap<>();
        adapters.get(model).forEach((k, v) -> params.put(k, v.params()));
        optimizers.get(model).step(params, g.parameterGradients());
        return g.loss();
    }

    @Override
    public INDArray logits(INDArray input, int user) {
        return graphs.get(mode == Mode.COL ? 0 : user).logits(input);
    }

    @Override
    public int evaluatedModels() {
        return adapters.size();
    }

    @Override
    public void startEpoch(int epoch) {
        optimizers.forEach(o -> o.setEpoch(epoch));
    }

    @Override
    public long trainableParameters() {
        return adapters.get(0).values().stream().mapToLong(Adapter::numParams).sum();
    }

    public Map<String, Adapter> adapters(int user) {
        return adapters.get(mode == Mode.COL ? 0 : user);
    }
}
