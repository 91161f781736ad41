package org.colaedge.coordinator.training;

import java.util.LinkedHashMap;
import java.util.Map;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.learning.ParameterOptimizer;
import org.colaedge.coordinator.model.AutodiffGraph;
import org.colaedge.coordinator.model.BaseModel;
import org.nd4j.linalg.api.ndarray.INDArray;

/** FULL: one model for everybody, all base weights trained by back-propagation on the server. */
public final class FullTrainer implements Trainer {

    private final AutodiffGraph graph;
    private final ParameterOptimizer optimizer;
    private final Map<String, INDArray> params;
    private final long trainable;

    public FullTrainer(BaseModel model, OptimizerConfig optimizer) {
        this.graph = new AutodiffGraph(model, Map.of(), AutodiffGraph.Trainable.BASE);
        this.params = graph.baseVariables();
        Map<String, Long> sizes = new LinkedHashMap<>();
        params.forEach((k, v) -> sizes.put(k, v.length()));
        this.optimizer = new ParameterOptimizer(optimizer, sizes);
        this.trainable = model.numParams();
    }

    @Override
    public TrainerKind kind() {
        return TrainerKind.FULL;
    }

    @Override
    public double step(Batch batch) {
        AutodiffGraph.Gradients g = graph.gradients(batch.input(), batch.oneHot());
        optimizer.step(params, g.parameterGradients());
        return g.loss();
    }

    @Override
    public INDArray logits(INDArray input, int user) {
        return graph.logits(input);
    }

    @Override
    public int evaluatedModels() {
        return 1;
    }

    @Override
    public void startEpoch(int epoch) {
        optimizer.setEpoch(epoch);
    }

    @Override
    public long trainableParameters() {
        return trainable;
    }

    /** The fine-tuned model (for pretraining a base). */
    public BaseModel trainedModel(String name) {
        return graph.currentModel(name);
    }
}
