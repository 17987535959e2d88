// gpix.render label tables, prepended to render_label_mean*.wgsl: a 16×16
// tile meets at most 256 labels, so a workgroup table of 256 slots always
// has room and every texel is summed in workgroup memory first; global
// memory then gets one update per label met and word per tile.

const SLOTS: u32 = 256u;
const EMPTY: u32 = 0xffffffffu;
var<workgroup> slot_label: array<atomic<u32>, SLOTS>;

// The slot of `label` in the tile's table, inserted if new (linear probing
// from a hash); EMPTY only if weak exchanges kept failing spuriously (the
// caller then adds the texel to global memory directly). Call after the
// table was cleared and a barrier.
fn tile_slot(label: u32) -> u32 {
    var h = (label * 0x9e3779b1u) >> 24u;
    for (var tries = 0u; tries < 4u * SLOTS; tries++) {
        let seen = atomicLoad(&slot_label[h]);
        if seen == label {
            return h;
        }
        if seen == EMPTY {
            let r = atomicCompareExchangeWeak(&slot_label[h], EMPTY, label);
            if r.exchanged || r.old_value == label {
                return h;
            }
            if r.old_value == EMPTY {
                continue;
            }
        }
        h = (h + 1u) % SLOTS;
    }
    return EMPTY;
}
