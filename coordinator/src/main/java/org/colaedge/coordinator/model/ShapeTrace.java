package org.colaedge.coordinator.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Per-sample activation shapes through a base model; fails with a message naming the layer that does not fit. */
final class ShapeTrace {

    private ShapeTrace() {
    }

    /** shapes.get(i) is the per-sample input shape of layer i; the last entry is the output shape. */
    static List<long[]> trace(BaseModel m) {
        List<long[]> shapes = new ArrayList<>();
        long[] s = m.inputShape();
        for (LayerSpec l : m.layers()) {
            shapes.add(s);
            s = next(m.name(), l, s);
        }
        shapes.add(s);
        return shapes;
    }

    private static long[] next(String model, LayerSpec l, long[] s) {
        if (l instanceof LayerSpec.Dense d) {
            if (s.length != 1 || s[0] != d.in()) {
                throw new IllegalArgumentException("model " + model + ": dense layer " + d.name() + " takes [" + d.in()
                        + "] but receives " + Arrays.toString(s) + (s.length > 1 ? " (add a Flatten or GlobalAvgPool)" : ""));
            }
            return new long[] {d.out()};
        }
        if (l instanceof LayerSpec.Conv2d c) {
            if (s.length != 3 || s[0] != c.inChannels()) {
                throw new IllegalArgumentException("model " + model + ": conv layer " + c.name() + " takes " + c.inChannels()
                        + " channels but receives " + Arrays.toString(s));
            }
            long h = c.geometry().outHeight(s[1]);
            long w = c.geometry().outWidth(s[2]);
            if (h < 1 || w < 1) {
                throw new IllegalArgumentException("model " + model + ": conv layer " + c.name() + " input " + Arrays.toString(s) + " is smaller than its kernel");
            }
            return new long[] {c.outChannels(), h, w};
        }
        if (l instanceof LayerSpec.MaxPool p) {
            if (s.length != 3 || s[1] < p.kernel() || s[2] < p.kernel()) {
                throw new IllegalArgumentException("model " + model + ": max pooling cannot take " + Arrays.toString(s));
            }
            return new long[] {s[0], (s[1] - p.kernel()) / p.stride() + 1, (s[2] - p.kernel()) / p.stride() + 1};
        }
        if (l instanceof LayerSpec.GlobalAvgPool) {
            if (s.length != 3) {
                throw new IllegalArgumentException("model " + model + ": global average pooling needs [C, H, W], got " + Arrays.toString(s));
            }
            return new long[] {s[0]};
        }
        if (l instanceof LayerSpec.Flatten) {
            return new long[] {Arrays.stream(s).reduce(1, (a, b) -> a * b)};
        }
        return s; // Relu
    }
}
