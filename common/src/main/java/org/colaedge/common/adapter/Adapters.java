package org.colaedge.common.adapter;

/** Creates adapters from specs. */
public final class Adapters {

    private Adapters() {
    }

    /** A freshly initialised adapter (seeded by the spec). */
    public static Adapter create(AdapterSpec spec) {
        return create(spec, true);
    }

    static Adapter create(AdapterSpec spec, boolean initialise) {
        return switch (spec.kind()) {
            case LINEAR -> new LinearAdapter(spec);
            case LOW_RANK -> new LowRankAdapter(spec, initialise);
            case MLP -> new MlpAdapter(spec, initialise);
            case CONV_LOW_RANK -> new ConvLowRankAdapter(spec, initialise);
        };
    }
}
