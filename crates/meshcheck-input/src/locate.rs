//! Finds the line of a field in block-style YAML without a second full parse: rules ask for a line
//! only when they report, so this runs a handful of times per finding instead of once per node.

/// The 0-based line offset, inside `text`, of the field at `path` (mapping keys and list indexes).
/// Returns the deepest prefix of the path that could be found, or `None` when even the first key
/// is missing (flow-style and JSON documents fall back to the document's line this way).
pub fn line_of_path(text: &str, path: &[&str]) -> Option<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Option<u32> = None;
    // The block we search in: lines [start, end) whose indentation is > parent_indent.
    let mut start = 0usize;
    let mut end = lines.len();
    let mut parent_indent: isize = -1;
    for segment in path {
        let is_item = segment.parse::<usize>().is_ok();
        let hit = match segment.parse::<usize>() {
            Ok(index) => find_item(&lines, start, end, parent_indent, index),
            Err(_) => find_key(&lines, start, end, parent_indent, segment),
        };
        let Some((line, indent)) = hit else { break };
        found = Some(line as u32);
        parent_indent = indent as isize;
        start = line;
        end = block_end(&lines, line, indent, is_item);
        // The item itself opens on `line`: search from it so `- key: v` matches its first key.
    }
    found
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// The end (exclusive) of the block opened at `line` with indentation `indent`.
fn block_end(lines: &[&str], line: usize, indent: usize, is_item: bool) -> usize {
    // An item's `indent` is one past its dash: the next dash at the same column ends it.
    let indent = if is_item { indent - 1 } else { indent };
    for (index, text) in lines.iter().enumerate().skip(line + 1) {
        if is_blank(text) {
            continue;
        }
        let current = indent_of(text);
        let body = text.trim_start();
        if current < indent || (current == indent && (is_item || !body.starts_with("- "))) {
            return index;
        }
    }
    lines.len()
}

/// Finds `key:` at the shallowest indentation deeper than the parent inside the block; keys that
/// start a list item (`- key:`) count at the indentation after the dash.
fn find_key(
    lines: &[&str],
    start: usize,
    end: usize,
    parent_indent: isize,
    key: &str,
) -> Option<(usize, usize)> {
    let mut level: Option<usize> = None;
    for (index, text) in lines.iter().enumerate().take(end).skip(start) {
        if is_blank(text) {
            continue;
        }
        let (indent, body) = key_position(text);
        if (indent as isize) <= parent_indent {
            continue;
        }
        let level = *level.get_or_insert(indent);
        if indent != level {
            continue;
        }
        let name = body.split_once(':').map(|(name, _)| name.trim());
        let name = name.map(|name| name.trim_matches(['"', '\'']));
        if name == Some(key) {
            return Some((index, indent));
        }
    }
    None
}

/// Indentation and text of the key on a line, looking through leading `- ` item markers.
fn key_position(line: &str) -> (usize, &str) {
    let mut indent = indent_of(line);
    let mut body = &line[indent..];
    while let Some(rest) = body.strip_prefix("- ") {
        let extra = rest.len() - rest.trim_start_matches(' ').len();
        indent += 2 + extra;
        body = &rest[extra..];
    }
    (indent, body)
}

/// Finds the `index`-th `- ` item directly inside the block.
fn find_item(
    lines: &[&str],
    start: usize,
    end: usize,
    parent_indent: isize,
    index: usize,
) -> Option<(usize, usize)> {
    let mut level: Option<usize> = None;
    let mut seen = 0usize;
    for (line_index, text) in lines.iter().enumerate().take(end).skip(start + 1) {
        if is_blank(text) {
            continue;
        }
        let indent = indent_of(text);
        let body = text.trim_start();
        if !(body.starts_with("- ") || body == "-") || (indent as isize) < parent_indent {
            continue;
        }
        let level = *level.get_or_insert(indent);
        if indent != level {
            continue;
        }
        if seen == index {
            // Keys inside the item are indented past the dash.
            return Some((line_index, indent + 1));
        }
        seen += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::line_of_path;

    const DOC: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n  - reviews\n  http:\n  - match:\n    - uri:\n        prefix: /a\n    route:\n    - destination:\n        host: reviews\n        subset: v1\n  - route:\n    - destination:\n        host: ratings\n";

    #[test]
    fn finds_keys_and_list_items() {
        assert_eq!(line_of_path(DOC, &["metadata", "name"]), Some(3));
        assert_eq!(line_of_path(DOC, &["spec", "hosts", "0"]), Some(6));
        assert_eq!(
            line_of_path(
                DOC,
                &["spec", "http", "0", "route", "0", "destination", "subset"]
            ),
            Some(14)
        );
        assert_eq!(
            line_of_path(
                DOC,
                &["spec", "http", "1", "route", "0", "destination", "host"]
            ),
            Some(17)
        );
    }

    #[test]
    fn missing_paths_stop_at_the_deepest_found_prefix() {
        assert_eq!(line_of_path(DOC, &["spec", "tcp"]), Some(4));
        assert_eq!(line_of_path(DOC, &["nothing"]), None);
        assert_eq!(line_of_path("{\"a\": 1}", &["a"]), None);
    }
}
