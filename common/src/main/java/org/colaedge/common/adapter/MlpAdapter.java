package org.colaedge.common.adapter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A ReLU MLP in -> hidden[0] -> ... -> out with parameters W0, b0, W1, b1, ...; hidden layers are
 * Kaiming-uniform initialised (biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch's
 * nn.Linear), the last layer zero, so the adapter starts as the identity on the base model. Not
 * mergeable: the paper's most expressive adapter, at the cost of inference overhead.
 */
public final class MlpAdapter extends Adapter {

    private final int layers;

    MlpAdapter(AdapterSpec spec, boolean initialise) {
        super(spec, shapes(spec));
        this.layers = spec.hidden().size() + 1;
        if (initialise) {
            SplittableRandom rng = new SplittableRandom(spec.seed());
            for (int i = 0; i < layers - 1; i++) {
                double bound = kaimingBound(param("W" + i).size(0));
                fillUniform(param("W" + i), bound, rng);
                fillUniform(param("b" + i), bound, rng);
            }
        }
    }

    private static LinkedHashMap<String, long[]> shapes(AdapterSpec spec) {
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        long prev = spec.inFeatures();
        List<Integer> widths = new ArrayList<>(spec.hidden());
        widths.add((int) spec.outFeatures());
        for (int i = 0; i < widths.size(); i++) {
            s.put("W" + i, new long[] {prev, widths.get(i)});
            s.put("b" + i, new long[] {widths.get(i)});
            prev = widths.get(i);
        }
        return s;
    }

    @Override
    protected INDArray doForward(INDArray x) {
        INDArray a = x;
        for (int i = 0; i < layers; i++) {
            INDArray z = a.mmul(param("W" + i)).addiRowVector(param("b" + i));
            a = i < layers - 1 ? Transforms.relu(z, false) : z;
        }
        return spec().scaling() == 1f ? a : a.muli(spec().scaling());
    }

    @Override
    protected void doGradient(INDArray x, INDArray delta, Map<String, INDArray> out) {
        // Forward, keeping each layer's input and pre-activation.
        INDArray[] inputs = new INDArray[layers];
        INDArray[] pre = new INDArray[layers];
        INDArray a = x;
        for (int i = 0; i < layers; i++) {
            inputs[i] = a;
            pre[i] = a.mmul(param("W" + i)).addiRowVector(param("b" + i));
            a = i < layers - 1 ? Transforms.relu(pre[i], true) : pre[i];
        }
        // Backward: J^T delta.
        INDArray dz = delta.mul(spec().scaling());
        for (int i = layers - 1; i >= 0; i--) {
            out.get("W" + i).assign(inputs[i].transpose().mmul(dz));
            out.get("b" + i).assign(dz.sum(0));
            if (i > 0) {
                INDArray da = dz.mmul(param("W" + i).transpose());
                INDArray active = pre[i - 1].gt(0).castTo(da.dataType());
                dz = da.muli(active);
            }
        }
    }
}
