package org.colaedge.common.adapter;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * LoRA-style g(x) = alpha * (x A) B with A: [in, r] Kaiming-uniform and B: [r, out] zero, so the
 * adapter starts as the identity on the base model. dW = A B.
 */
public final class LowRankAdapter extends Adapter {

    LowRankAdapter(AdapterSpec spec, boolean initialise) {
        super(spec, shapes(spec));
        if (initialise) {
            fillUniform(param("A"), kaimingBound(spec.inFeatures()), new SplittableRandom(spec.seed()));
        }
    }

    private static LinkedHashMap<String, long[]> shapes(AdapterSpec spec) {
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        s.put("A", new long[] {spec.inFeatures(), spec.rank()});
        s.put("B", new long[] {spec.rank(), spec.outFeatures()});
        return s;
    }

    @Override
    protected INDArray doForward(INDArray x) {
        return x.mmul(param("A")).mmul(param("B")).muli(spec().scaling());
    }

    @Override
    protected void doGradient(INDArray x, INDArray delta, Map<String, INDArray> out) {
        float s = spec().scaling();
        INDArray u = x.mmul(param("A"));                         // [N, r]
        out.get("B").assign(u.transpose().mmul(delta)).muli(s);  // alpha u^T delta
        INDArray back = delta.mmul(param("B").transpose());      // [N, r]
        out.get("A").assign(x.transpose().mmul(back)).muli(s);   // alpha x^T (delta B^T)
    }

    @Override
    public INDArray deltaWeight() {
        return param("A").mmul(param("B"));
    }
}
