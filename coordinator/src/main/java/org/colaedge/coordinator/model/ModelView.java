package org.colaedge.coordinator.model;

import java.util.Map;

/**
 * One user's (or one collaboration group's) view of the base model: what each adapted slot
 * computes with. Slots not in the map compute with the frozen base.
 */
public record ModelView(String id, Map<String, SlotView> slots) {

    public ModelView {
        slots = Map.copyOf(slots);
    }

    /** The frozen base alone. */
    public static ModelView base() {
        return new ModelView("base", Map.of());
    }
}
