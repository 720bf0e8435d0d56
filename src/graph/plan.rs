//! Buffer planning: tensor lifetimes over the node order, then slots reused by
//! tensors whose lifetimes do not overlap. Pure data; no device needed.
//!
//! A tensor is live from the node that makes it to the last node that reads it
//! (to the end for graph outputs and losses), both ends included, so the
//! outputs of a node never share a slot with its inputs (wgpu forbids binding
//! one buffer as both). Slots are assigned greedily by size, largest first.

use super::{Graph, TensorId, TensorKind};

/// Where every computed tensor lives.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Slot of each tensor (by root); None for inputs and parameters.
    pub slot_of: Vec<Option<usize>>,
    /// Size of each slot in elements (the largest tensor placed in it).
    pub slot_len: Vec<usize>,
    /// (first, last) node index of each computed root tensor.
    pub lifetime: Vec<Option<(usize, usize)>>,
}

impl Plan {
    /// Bytes of all slots.
    pub fn planned_bytes(&self) -> u64 {
        self.slot_len.iter().map(|&l| l as u64 * 4).sum()
    }
}

/// Bytes of every tensor of `g` (reshapes counted once), as if none shared memory.
pub fn naive_bytes(g: &Graph) -> u64 {
    g.tensors
        .iter()
        .filter(|t| t.alias_of.is_none())
        .map(|t| t.numel() as u64 * 4)
        .sum()
}

/// Bytes of the graph's inputs and parameters (not planned: they persist).
pub fn fixed_bytes(g: &Graph) -> u64 {
    g.tensors
        .iter()
        .filter(|t| t.alias_of.is_none() && t.kind != TensorKind::Computed)
        .map(|t| t.numel() as u64 * 4)
        .sum()
}

/// Compute lifetimes and assign slots.
pub fn plan(g: &Graph) -> Plan {
    let n_nodes = g.nodes.len();
    let mut lifetime: Vec<Option<(usize, usize)>> = vec![None; g.tensors.len()];
    for (i, node) in g.nodes.iter().enumerate() {
        for &o in &node.outputs {
            lifetime[o.0] = Some((i, i));
        }
        for &t in &node.inputs {
            if let Some((_, last)) = &mut lifetime[g.root(t).0] {
                *last = (*last).max(i);
            }
        }
    }
    for &t in g.outputs.iter().chain(&g.losses) {
        if let Some((_, last)) = &mut lifetime[g.root(t).0] {
            *last = n_nodes;
        }
    }
    // Greedy by size: the largest tensors are placed first, each into the
    // smallest slot whose tensors are never live at the same time as it (a
    // node's outputs overlap its dying inputs, so they never share), else a new
    // slot. Slots never grow, and big slots are reused by many small tensors.
    let mut order: Vec<usize> = (0..g.tensors.len())
        .filter(|&t| lifetime[t].is_some())
        .collect();
    order.sort_by_key(|&t| (std::cmp::Reverse(g.tensors[t].numel()), lifetime[t], t));
    let mut slot_of = vec![None; g.tensors.len()];
    let mut slot_len: Vec<usize> = Vec::new();
    let mut busy: Vec<Vec<(usize, usize)>> = Vec::new();
    for t in order {
        let (a, b) = lifetime[t].unwrap();
        let len = g.tensors[t].numel();
        let free = |s: &usize| busy[*s].iter().all(|&(x, y)| b < x || y < a);
        let slot = match (0..slot_len.len())
            .filter(free)
            .min_by_key(|&s| slot_len[s])
        {
            Some(s) => s,
            None => {
                slot_len.push(len);
                busy.push(Vec::new());
                slot_len.len() - 1
            }
        };
        busy[slot].push((a, b));
        slot_of[t] = Some(slot);
    }
    Plan {
        slot_of,
        slot_len,
        lifetime,
    }
}

/// Pairs of tensors that are live at the same time yet share a slot (should be none).
pub fn conflicts(plan: &Plan) -> Vec<(TensorId, TensorId)> {
    let mut out = Vec::new();
    let live: Vec<(usize, (usize, usize), usize)> = plan
        .lifetime
        .iter()
        .enumerate()
        .filter_map(|(t, l)| Some((t, (*l)?, plan.slot_of[t]?)))
        .collect();
    for (i, &(a, (a0, a1), sa)) in live.iter().enumerate() {
        for &(b, (b0, b1), sb) in &live[i + 1..] {
            if sa == sb && a0 <= b1 && b0 <= a1 {
                out.push((TensorId(a), TensorId(b)));
            }
        }
    }
    out
}
