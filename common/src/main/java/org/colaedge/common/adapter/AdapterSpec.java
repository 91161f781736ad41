package org.colaedge.common.adapter;

import java.util.List;
import java.util.Objects;

/**
 * What adapter to attach to which layer of the base model. Transport-neutral: {@code WireMapping}
 * converts it to and from {@code colaedge.v1.AdapterSpec}.
 *
 * @param layer        name of the adapted layer
 * @param kind         adapter family
 * @param inFeatures   layer input features (conv: input channels)
 * @param outFeatures  layer output features (conv: output channels)
 * @param rank         rank r of LOW_RANK and CONV_LOW_RANK adapters
 * @param scaling      alpha: the adapter output (and its merged delta) is scaled by it
 * @param seed         initialisation seed
 * @param bias         LINEAR only: learn a bias vector
 * @param hidden       MLP only: hidden widths
 * @param conv         CONV_LOW_RANK only: geometry of the adapted conv layer
 */
public record AdapterSpec(
        String layer,
        AdapterKind kind,
        long inFeatures,
        long outFeatures,
        int rank,
        float scaling,
        long seed,
        boolean bias,
        List<Integer> hidden,
        ConvGeometry conv) {

    public AdapterSpec {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(kind, "kind");
        hidden = hidden == null ? List.of() : List.copyOf(hidden);
        if (layer.isBlank()) {
            throw new IllegalArgumentException("adapter spec: layer name is empty");
        }
        if (inFeatures < 1 || outFeatures < 1) {
            throw new IllegalArgumentException("adapter spec for " + layer + ": in/out features must be positive, were "
                    + inFeatures + "/" + outFeatures);
        }
        if (!(scaling > 0) || !Float.isFinite(scaling)) {
            throw new IllegalArgumentException("adapter spec for " + layer + ": scaling must be a positive finite number, was " + scaling);
        }
        switch (kind) {
            case LOW_RANK, CONV_LOW_RANK -> {
                if (rank < 1) {
                    throw new IllegalArgumentException("adapter spec for " + layer + ": " + kind + " needs rank >= 1, was " + rank);
                }
            }
            case MLP -> {
                if (hidden.isEmpty() || hidden.stream().anyMatch(h -> h < 1)) {
                    throw new IllegalArgumentException("adapter spec for " + layer + ": MLP needs positive hidden widths, was " + hidden);
                }
            }
            case LINEAR -> { }
        }
        if (kind == AdapterKind.CONV_LOW_RANK && conv == null) {
            throw new IllegalArgumentException("adapter spec for " + layer + ": CONV_LOW_RANK needs the conv geometry");
        }
    }

    public static AdapterSpec linear(String layer, long in, long out, boolean bias, long seed) {
        return new AdapterSpec(layer, AdapterKind.LINEAR, in, out, 0, 1f, seed, bias, List.of(), null);
    }

    public static AdapterSpec lowRank(String layer, long in, long out, int rank, float scaling, long seed) {
        return new AdapterSpec(layer, AdapterKind.LOW_RANK, in, out, rank, scaling, seed, false, List.of(), null);
    }

    public static AdapterSpec mlp(String layer, long in, long out, List<Integer> hidden, long seed) {
        return new AdapterSpec(layer, AdapterKind.MLP, in, out, 0, 1f, seed, false, hidden, null);
    }

    public static AdapterSpec convLowRank(String layer, long inChannels, long outChannels, int rank, float scaling,
                                          ConvGeometry conv, long seed) {
        return new AdapterSpec(layer, AdapterKind.CONV_LOW_RANK, inChannels, outChannels, rank, scaling, seed, false,
                List.of(), conv);
    }
}
