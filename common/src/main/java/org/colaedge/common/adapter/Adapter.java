package org.colaedge.common.adapter;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.NdArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * An adapter g_w attached to a layer m of a frozen base model: h_m = W_m x_m + g_w(x_m).
 *
 * <p>All parameters live in one flat row vector ({@link #params()}, shape [1, n]) with named,
 * row-major views into it ({@link #param(String)}), the layout DL4J's updaters work on. The
 * gradient of gradient learning, {@link #gradient(INDArray, INDArray)}, comes back in the same
 * flat layout.
 *
 * <p>Gradient learning: given the layer input x_m and the hidden gradient delta_m = dL/dh_m from
 * the coordinator, the device minimises 0.5 ||g_w(x) - (g_w(x).detach() - delta)||^2. The
 * gradient of that loss is J_w(x)^T delta, which every subclass computes analytically; it equals
 * dL/dw of full back-propagation exactly (Proposition 1 of the paper, checked against SameDiff
 * autodiff by {@code org.colaedge.common.verify.ColaVerification}).
 *
 * <p>Not thread-safe: an adapter is owned by one device actor / one thread.
 */
public abstract class Adapter {

    private final AdapterSpec spec;
    private final INDArray flat;
    private final Map<String, long[]> shapes;
    private final Map<String, INDArray> views;

    protected Adapter(AdapterSpec spec, LinkedHashMap<String, long[]> shapes) {
        this.spec = spec;
        this.shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
        long n = shapes.values().stream().mapToLong(Adapter::count).sum();
        this.flat = Nd4j.zeros(DataType.FLOAT, 1, n);
        this.views = Collections.unmodifiableMap(viewsOf(flat));
    }

    public final AdapterSpec spec() {
        return spec;
    }

    public final String layer() {
        return spec.layer();
    }

    public final AdapterKind kind() {
        return spec.kind();
    }

    /** Number of trainable parameters. */
    public final long numParams() {
        return flat.length();
    }

    /** The live flat parameter vector [1, n]; writes through to every named parameter. */
    public final INDArray params() {
        return flat;
    }

    /** Live view of one named parameter. */
    public final INDArray param(String name) {
        INDArray v = views.get(name);
        if (v == null) {
            throw new IllegalArgumentException(kind() + " adapter of layer " + layer() + " has no parameter '" + name
                    + "'; it has " + views.keySet());
        }
        return v;
    }

    /** Parameter names in layout order. */
    public final Map<String, long[]> paramShapes() {
        return shapes;
    }

    /** Live views of all parameters, in layout order. */
    public final Map<String, INDArray> paramViews() {
        return views;
    }

    /** Overwrites all parameters from a flat vector of the same length. */
    public final void setParams(INDArray newFlat) {
        if (newFlat.length() != flat.length()) {
            throw new IllegalArgumentException("adapter of layer " + layer() + " has " + flat.length()
                    + " parameters, got " + newFlat.length());
        }
        flat.assign(newFlat.reshape(1, flat.length()));
    }

    /** Overwrites one named parameter. */
    public final void setParam(String name, INDArray value) {
        INDArray view = param(name);
        if (!Arrays.equals(view.shape(), value.shape())) {
            throw new IllegalArgumentException("parameter '" + name + "' of layer " + layer() + " has shape "
                    + Arrays.toString(view.shape()) + ", got " + Arrays.toString(value.shape()));
        }
        view.assign(value);
    }

    /** g_w(x). */
    public final INDArray forward(INDArray x) {
        checkInput(x);
        return doForward(x);
    }

    /**
     * The gradient-learning parameter gradient J_w(x)^T delta, in the flat layout [1, n]. For
     * concatenated inputs (interval I > 1) it is the gradient of the summed loss.
     */
    public final INDArray gradient(INDArray x, INDArray delta) {
        checkInput(x);
        checkDelta(x, delta);
        INDArray g = Nd4j.zeros(DataType.FLOAT, 1, flat.length());
        doGradient(x, delta, viewsOf(g));
        return g;
    }

    /** Checks that (x, delta) have the shapes this adapter takes; throws IllegalArgumentException naming the layer. */
    public final void validate(INDArray x, INDArray delta) {
        checkInput(x);
        checkDelta(x, delta);
    }

    /** Whether {@link #deltaWeight()} exists (the adapter folds into the base weights). */
    public final boolean mergeable() {
        return kind().mergeable();
    }

    /**
     * The weight delta dW with g_w(x) = scaling * (the base layer's op with dW), so that merging
     * W' = W + scaling * dW computes base + adapter. Dense: [in, out]; conv: [out, in, kH, kW].
     */
    public INDArray deltaWeight() {
        throw new UnsupportedOperationException(kind() + " adapter of layer " + layer() + " cannot be merged");
    }

    /** The bias delta merged into the base bias (LINEAR with bias), or null. */
    public INDArray deltaBias() {
        return null;
    }

    /**
     * Packs per-parameter arrays (e.g. gradients from another computation) into this adapter's
     * flat layout [1, n]; every parameter must be present with its exact shape.
     */
    public final INDArray flatten(Map<String, INDArray> named) {
        if (!named.keySet().equals(shapes.keySet())) {
            throw new IllegalArgumentException("layer " + layer() + ": expected parameters " + shapes.keySet() + ", got " + named.keySet());
        }
        INDArray out = Nd4j.zeros(DataType.FLOAT, 1, flat.length());
        Map<String, INDArray> target = viewsOf(out);
        for (Map.Entry<String, INDArray> e : named.entrySet()) {
            INDArray v = target.get(e.getKey());
            if (!Arrays.equals(v.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' of layer " + layer() + " has shape "
                        + Arrays.toString(v.shape()) + ", got " + Arrays.toString(e.getValue().shape()));
            }
            v.assign(e.getValue());
        }
        return out;
    }

    /** An independent adapter of the same spec holding a copy of these parameters. */
    public final Adapter copy() {
        Adapter c = Adapters.create(spec, false);
        c.setParams(flat);
        return c;
    }

    protected abstract INDArray doForward(INDArray x);

    /** Writes J_w(x)^T delta into the named gradient views {@code out} (which start at zero). */
    protected abstract void doGradient(INDArray x, INDArray delta, Map<String, INDArray> out);

    /** Expected input rank and trailing size; subclasses with other layouts override. */
    protected void checkInput(INDArray x) {
        if (x.rank() != 2 || x.size(1) != spec.inFeatures()) {
            throw new IllegalArgumentException("layer " + layer() + ": adapter input x must have shape [N, "
                    + spec.inFeatures() + "], was " + Arrays.toString(x.shape()));
        }
    }

    protected void checkDelta(INDArray x, INDArray delta) {
        if (delta.rank() != 2 || delta.size(0) != x.size(0) || delta.size(1) != spec.outFeatures()) {
            throw new IllegalArgumentException("layer " + layer() + ": hidden gradient delta must have shape ["
                    + x.size(0) + ", " + spec.outFeatures() + "], was " + Arrays.toString(delta.shape()));
        }
    }

    /** Fills a parameter with U(-bound, bound) from a seeded stream (platform independent). */
    protected static void fillUniform(INDArray target, double bound, SplittableRandom rng) {
        target.assign(NdArrays.uniform(rng, bound, target.shape()));
    }

    /**
     * Kaiming-uniform with a = sqrt(5), as LoRA and PyTorch's nn.Linear initialise: bound =
     * 1 / sqrt(fan_in).
     */
    protected static double kaimingBound(long fanIn) {
        return 1.0 / Math.sqrt(fanIn);
    }

    private Map<String, INDArray> viewsOf(INDArray flatVector) {
        LinkedHashMap<String, INDArray> out = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long len = count(e.getValue());
            INDArray segment = flatVector.get(NDArrayIndex.point(0), NDArrayIndex.interval(offset, offset + len));
            out.put(e.getKey(), segment.reshape('c', e.getValue()));
            offset += len;
        }
        return out;
    }

    private static long count(long[] shape) {
        long c = 1;
        for (long d : shape) {
            c *= d;
        }
        return c;
    }
}
