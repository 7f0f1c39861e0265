//! The fast YAML path: one pass over granit-parser's event stream builds the document's
//! `Value` and the line of every field together.
//!
//! It covers what manifests are made of (untagged scalars, mappings, sequences, anchors and
//! aliases) with the same meaning serde-saphyr gives them (see [`crate::scalar`]). Anything
//! outside that subset — tags, merge keys, non-string keys, duplicate keys, non-finite floats,
//! budgets close to serde-saphyr's limits, syntax errors — marks the document for serde-saphyr,
//! which stays the reference: it then supplies the value or the exact error, and the lines
//! recorded here are kept.

use std::collections::HashMap;

use crate::{Map, Value};
use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::fields::{FieldLine, item_segment, key_segment};
use crate::scalar::{Plain, resolve_plain};

/// Limits below serde-saphyr's default budget (so that a document the fast path accepts is one
/// serde-saphyr accepts too); beyond them serde-saphyr decides.
const MAX_DEPTH: usize = 60;
const MAX_EVENTS: usize = 900_000;
const MAX_NODES: usize = 200_000;
const MAX_ALIASES: usize = 100;
/// Events an alias may replay in total: the alias-bomb guard.
const MAX_REPLAYED_EVENTS: usize = 500_000;

/// What the fast path made of a document.
pub(crate) struct Walked {
    /// `None` when serde-saphyr must build the value (see the module documentation).
    pub(crate) value: Option<Value>,
    pub(crate) fields: Vec<FieldLine>,
}

/// A collection being built, with the field node that holds it (0: the document root).
enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        node: u32,
        start_event: usize,
    },
    Mapping {
        map: Map,
        anchor: usize,
        node: u32,
        start_event: usize,
        /// The key read and the field node it opened, waiting for its value.
        key: Option<(String, u32)>,
    },
    /// A collection used as a mapping key: only its extent matters, serde-saphyr decides.
    Key { depth: usize },
}

struct Walker {
    fields: Vec<FieldLine>,
    stack: Vec<Frame>,
    /// Anchored values with the number of events replaying them costs.
    anchors: HashMap<usize, (Value, usize)>,
    first_line: u32,
    events: usize,
    /// Events counting what aliases replay: the cost of anchored collections.
    expanded: usize,
    nodes: usize,
    aliases: usize,
    replayed: usize,
    exact: bool,
    root: Option<Value>,
}

/// Walks one document (`text` holds exactly one; `first_line` is the file line of its first
/// line). `Err` carries the parser's error: the caller asks serde-saphyr for the message.
pub(crate) fn walk(text: &str, first_line: u32) -> Result<Walked, ()> {
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut walker = Walker {
        fields: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        first_line,
        events: 0,
        expanded: 0,
        nodes: 0,
        aliases: 0,
        replayed: 0,
        exact: true,
        root: None,
    };
    let mut documents = 0;
    for event in parser {
        let (event, span) = event.map_err(|_| ())?;
        walker.events += 1;
        walker.expanded += 1;
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                // A second document in one piece: serde-saphyr reports it.
                walker.exact &= documents == 1;
            }
            Event::Scalar(text, style, anchor, tag) => {
                walker.exact &= tag.is_none();
                walker.scalar(text.into_owned(), style, anchor, &span);
            }
            Event::SequenceStart(_, anchor, tag) => {
                walker.exact &= tag.is_none();
                walker.open(false, anchor, &span);
            }
            Event::MappingStart(_, anchor, tag) => {
                walker.exact &= tag.is_none();
                walker.open(true, anchor, &span);
            }
            Event::SequenceEnd | Event::MappingEnd => walker.close(),
            Event::Alias(id) => walker.alias(id, &span),
            // Comments are off; anchor events and unresolved aliases are not requested.
            _ => {}
        }
    }
    walker.exact &= walker.events <= MAX_EVENTS && walker.nodes <= MAX_NODES;
    let value = walker.root.take().unwrap_or(Value::Null);
    Ok(Walked {
        value: walker.exact.then_some(value),
        fields: walker.fields,
    })
}

impl Walker {
    fn line(&self, span: &Span) -> u32 {
        self.first_line + span.start.line() as u32 - 1
    }

    /// Records the field a new node starts (a list item) and returns the field node that holds
    /// the node; for a mapping value, the node its key opened. `None` when the node is a key.
    fn enter_node(&mut self, line: u32) -> Option<u32> {
        self.nodes += 1;
        match self.stack.last_mut() {
            None => Some(0),
            Some(Frame::Sequence { items, node, .. }) => {
                let parent = *node;
                let segment = item_segment(items.len());
                self.fields.push(FieldLine {
                    segment,
                    parent,
                    line,
                });
                Some(self.fields.len() as u32)
            }
            Some(Frame::Mapping {
                key: Some((_, node)),
                ..
            }) => Some(*node),
            Some(Frame::Mapping { key: None, .. }) | Some(Frame::Key { .. }) => None,
        }
    }

    fn scalar(&mut self, text: String, style: ScalarStyle, anchor: usize, span: &Span) {
        let mut line = self.line(span);
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            // The span starts at the first non-empty content line; the `|`/`>` header is before
            // it and before the leading empty lines (kept in the value as newlines).
            let empty_lines = text.bytes().take_while(|&byte| byte == b'\n').count() as u32;
            line = line.saturating_sub(1 + empty_lines).max(self.first_line);
        }
        if self.enter_node(line).is_none() {
            self.key(text, style, span);
            return;
        }
        let value = if style == ScalarStyle::Plain {
            match resolve_plain(&text) {
                Plain::Value(value) => value,
                Plain::Text => Value::String(text.into()),
                Plain::NonFinite => {
                    self.exact = false;
                    Value::Null
                }
            }
        } else {
            Value::String(text.into())
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        self.deliver(value);
    }

    /// A scalar in key position: opens the field its value will hang under.
    fn key(&mut self, text: String, style: ScalarStyle, span: &Span) {
        let line = self.line(span);
        let Some(Frame::Mapping { node, key, .. }) = self.stack.last_mut() else {
            // Inside a collection used as a key: nothing to record.
            return;
        };
        // Plain keys are their text unless they mean null; `<<` is a merge key.
        if style == ScalarStyle::Plain
            && (matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") || text == "<<")
        {
            self.exact = false;
        }
        let parent = *node;
        self.fields.push(FieldLine {
            segment: key_segment(&text),
            parent,
            line,
        });
        *key = Some((text, self.fields.len() as u32));
    }

    fn open(&mut self, mapping: bool, anchor: usize, span: &Span) {
        let start_event = self.expanded;
        let frame = match self.enter_node(self.line(span)) {
            None => {
                self.exact = false;
                let depth = match self.stack.last() {
                    Some(Frame::Key { depth }) => depth + 1,
                    _ => 0,
                };
                Frame::Key { depth }
            }
            Some(node) if mapping => Frame::Mapping {
                map: Map::new(),
                anchor,
                node,
                start_event,
                key: None,
            },
            Some(node) => Frame::Sequence {
                items: Vec::new(),
                anchor,
                node,
                start_event,
            },
        };
        self.stack.push(frame);
        if self.stack.len() > MAX_DEPTH {
            self.exact = false;
        }
    }

    fn close(&mut self) {
        let (value, anchor, start_event) = match self.stack.pop() {
            Some(Frame::Sequence {
                items,
                anchor,
                start_event,
                ..
            }) => (Value::Array(items), anchor, start_event),
            Some(Frame::Mapping {
                map,
                anchor,
                start_event,
                ..
            }) => (Value::Object(map), anchor, start_event),
            Some(Frame::Key { depth }) => {
                if depth == 0
                    && let Some(Frame::Mapping { node, key, .. }) = self.stack.last_mut()
                {
                    // The key collection is complete: its value gets a field with no name.
                    self.fields.push(FieldLine {
                        segment: key_segment(""),
                        parent: *node,
                        line: self
                            .fields
                            .last()
                            .map_or(self.first_line, |field| field.line),
                    });
                    *key = Some((String::new(), self.fields.len() as u32));
                }
                return;
            }
            None => return,
        };
        if anchor != 0 {
            let cost = self.expanded - start_event + 1;
            self.anchors.insert(anchor, (value.clone(), cost));
        }
        self.deliver(value);
    }

    fn alias(&mut self, id: usize, span: &Span) {
        self.aliases += 1;
        if self.enter_node(self.line(span)).is_none() {
            // An alias as a mapping key.
            self.exact = false;
            self.key(String::new(), ScalarStyle::DoubleQuoted, span);
            return;
        }
        let value = match self.anchors.get(&id) {
            Some((value, cost)) if self.exact => {
                self.replayed += cost;
                self.expanded += cost;
                if self.aliases > MAX_ALIASES || self.replayed > MAX_REPLAYED_EVENTS {
                    self.exact = false;
                    Value::Null
                } else {
                    value.clone()
                }
            }
            // Unknown or still-open (recursive) anchor, or already inexact: serde-saphyr decides.
            _ => {
                self.exact = false;
                Value::Null
            }
        };
        self.deliver(value);
    }

    /// Hands a finished value to the collection it belongs to.
    fn deliver(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { map, key, .. }) => {
                if let Some((name, _)) = key.take()
                    && map.insert(name, value).is_some()
                {
                    // Duplicate key: serde-saphyr rejects the document.
                    self.exact = false;
                }
            }
            Some(Frame::Key { .. }) => {}
        }
    }
}
