package org.colaedge.common.adapter;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/** g(x) = x W + b with W: [in, out] (and b: [out] if enabled), zero initialised. */
public final class LinearAdapter extends Adapter {

    LinearAdapter(AdapterSpec spec) {
        super(spec, shapes(spec));
    }

    private static LinkedHashMap<String, long[]> shapes(AdapterSpec spec) {
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        s.put("W", new long[] {spec.inFeatures(), spec.outFeatures()});
        if (spec.bias()) {
            s.put("b", new long[] {spec.outFeatures()});
        }
        return s;
    }

    @Override
    protected INDArray doForward(INDArray x) {
        INDArray y = x.mmul(param("W"));
        if (spec().bias()) {
            y.addiRowVector(param("b"));
        }
        return spec().scaling() == 1f ? y : y.muli(spec().scaling());
    }

    @Override
    protected void doGradient(INDArray x, INDArray delta, Map<String, INDArray> out) {
        float s = spec().scaling();
        out.get("W").assign(x.transpose().mmul(delta)).muli(s);
        if (spec().bias()) {
            out.get("b").assign(delta.sum(0)).muli(s);
        }
    }

    @Override
    public INDArray deltaWeight() {
        return param("W").dup();
    }

    @Override
    public INDArray deltaBias() {
        return spec().bias() ? param("b").dup() : null;
    }
}
