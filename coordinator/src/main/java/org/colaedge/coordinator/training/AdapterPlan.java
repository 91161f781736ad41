package org.colaedge.coordinator.training;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.LayerSpec;

/**
 * Which adapter goes on which layer: the chosen kind on every dense layer (the paper attaches
 * adapters to every linear layer); conv layers get CONV_LOW_RANK adapters of the same rank.
 *
 * @param kind    adapter kind for dense layers
 * @param rank    rank of LOW_RANK / CONV_LOW_RANK adapters
 * @param scaling alpha
 * @param hidden  MLP adapter hidden widths
 */
public record AdapterPlan(AdapterKind kind, int rank, float scaling, List<Integer> hidden) {

    public AdapterPlan {
        if (kind == AdapterKind.CONV_LOW_RANK) {
            throw new IllegalArgumentException("choose the dense adapter kind (LOW_RANK, LINEAR or MLP); conv layers get CONV_LOW_RANK automatically");
        }
        hidden = List.copyOf(hidden);
    }

    public static AdapterPlan of(AdapterKind kind) {
        return new AdapterPlan(kind, 8, 1f, List.of(128));
    }

    /** Fresh adapters for every slot of the model, seeded per user and layer. */
    public Map<String, Adapter> create(BaseModel model, long seed) {
        Map<String, Adapter> out = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, LayerSpec> e : model.slots().entrySet()) {
            long s = seed * 1_000_003L + (i++);
            AdapterSpec spec;
            if (e.getValue() instanceof LayerSpec.Conv2d c) {
                spec = AdapterSpec.convLowRank(e.getKey(), c.inChannels(), c.outChannels(), rank, scaling, c.geometry(), s);
            } else {
                LayerSpec.Dense d = (LayerSpec.Dense) e.getValue();
                spec = switch (kind) {
                    case LINEAR -> AdapterSpec.linear(e.getKey(), d.in(), d.out(), true, s);
                    case LOW_RANK -> AdapterSpec.lowRank(e.getKey(), d.in(), d.out(), rank, scaling, s);
                    case MLP -> AdapterSpec.mlp(e.getKey(), d.in(), d.out(), hidden, s);
                    case CONV_LOW_RANK -> throw new IllegalStateException();
                };
            }
            out.put(e.getKey(), Adapters.create(spec));
        }
        return out;
    }

    public boolean mergeable() {
        return kind.mergeable();
    }
}
