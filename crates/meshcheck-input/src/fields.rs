//! The line of every field of a document, recorded while it is parsed, so that a finding can point
//! at the offending field (`spec.http[0].route[0].destination.subset`) rather than at the document.

use std::sync::Arc;

/// One map entry or list item: its parent (0 for the document root, `k` for node `k - 1`), what
/// it is called in its parent (a key hash, or an item index with [`ITEM`] set), and its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldLine {
    pub(crate) segment: u64,
    pub(crate) parent: u32,
    pub(crate) line: u32,
}

/// Marks a list-item segment (the low bits hold the index).
const ITEM: u64 = 1 << 63;

pub(crate) fn key_segment(key: &str) -> u64 {
    // FNV-1a: path segments are short keys; a collision could only misplace a reported line.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash & !ITEM
}

pub(crate) fn item_segment(index: usize) -> u64 {
    index as u64 | ITEM
}

/// The fields of one object with the (file) line each starts on, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldLines {
    nodes: Arc<[FieldLine]>,
}

impl FieldLines {
    pub(crate) fn new(nodes: Vec<FieldLine>) -> FieldLines {
        FieldLines {
            nodes: nodes.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The line of the field at `path` (mapping keys and list indexes, `["spec", "hosts", "0"]`),
    /// or of the deepest prefix of it that exists; `None` when not even the first key exists.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        let mut found = None;
        let mut parent = 0u32;
        let mut start = 0usize;
        for segment in path {
            let key = key_segment(segment);
            let item = segment.parse::<usize>().ok().map(item_segment);
            let hit = self.nodes[start..]
                .iter()
                // Pre-order: the parent's subtree ends at the first node with an earlier parent.
                .take_while(|node| node.parent >= parent)
                .position(|node| {
                    node.parent == parent && (node.segment == key || Some(node.segment) == item)
                });
            let Some(offset) = hit else { break };
            let index = start + offset;
            found = Some(self.nodes[index].line);
            parent = index as u32 + 1;
            start = index + 1;
        }
        found
    }

    /// The fields below `path`, re-rooted there (each item of a `kind: List` becomes an object).
    pub(crate) fn subtree(&self, path: &[&str]) -> Option<FieldLines> {
        let mut parent = 0u32;
        let mut start = 0usize;
        for segment in path {
            let key = key_segment(segment);
            let item = segment.parse::<usize>().ok().map(item_segment);
            let offset = self.nodes[start..]
                .iter()
                .take_while(|node| node.parent >= parent)
                .position(|node| {
                    node.parent == parent && (node.segment == key || Some(node.segment) == item)
                })?;
            parent = (start + offset) as u32 + 1;
            start = start + offset + 1;
        }
        let nodes = self.nodes[start..]
            .iter()
            .take_while(|node| node.parent >= parent)
            .map(|node| FieldLine {
                parent: if node.parent == parent {
                    0
                } else {
                    node.parent - parent
                },
                ..*node
            })
            .collect();
        Some(FieldLines::new(nodes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(parent: u32, segment: u64, line: u32) -> FieldLine {
        FieldLine {
            segment,
            parent,
            line,
        }
    }

    /// spec: (1) / hosts: (2) / - a (3) / http: (4) / - route: (5) / metadata: (6)
    fn sample() -> FieldLines {
        FieldLines::new(vec![
            node(0, key_segment("spec"), 1),
            node(1, key_segment("hosts"), 2),
            node(2, item_segment(0), 3),
            node(1, key_segment("http"), 4),
            node(4, item_segment(0), 5),
            node(5, key_segment("route"), 5),
            node(0, key_segment("metadata"), 6),
        ])
    }

    #[test]
    fn finds_the_deepest_existing_prefix() {
        let fields = sample();
        assert_eq!(fields.line_of(&["spec", "hosts", "0"]), Some(3));
        assert_eq!(fields.line_of(&["spec", "http", "0", "route"]), Some(5));
        assert_eq!(fields.line_of(&["spec", "http", "1"]), Some(4));
        assert_eq!(fields.line_of(&["metadata"]), Some(6));
        // `hosts` exists only under `spec`.
        assert_eq!(fields.line_of(&["hosts"]), None);
        assert_eq!(fields.line_of(&["spec", "route"]), Some(1));
    }

    #[test]
    fn subtrees_are_re_rooted() {
        let http = sample().subtree(&["spec", "http", "0"]).unwrap();
        assert_eq!(http.line_of(&["route"]), Some(5));
        assert_eq!(http.line_of(&["hosts"]), None);
        assert!(sample().subtree(&["nothing"]).is_none());
    }
}
