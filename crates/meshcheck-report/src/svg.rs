//! Hand-written inline SVG charts for the HTML report: a score gauge, a donut, horizontal bars and
//! stacked bars. Colours come from CSS classes (`c-…`) so light and dark themes and print apply;
//! no `style` attributes (the report's Content-Security-Policy forbids inline styles) and nothing
//! external. Every chart has a `<title>` and `role="img"` for screen readers.

use std::f64::consts::PI;
use std::fmt::Write;

/// Escapes text for XML/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

/// One value of a chart with its label and colour class (`sev-error`, `bar`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment<'a> {
    pub label: &'a str,
    pub value: f64,
    pub class: &'a str,
}

impl<'a> Segment<'a> {
    pub fn new(label: &'a str, value: f64, class: &'a str) -> Segment<'a> {
        Segment {
            label,
            value,
            class,
        }
    }
}

/// A ring filled to `score`/100 with the score and grade in the middle.
pub fn gauge(score: u8, grade: &str, title: &str) -> String {
    const RADIUS: f64 = 52.0;
    let circumference = 2.0 * PI * RADIUS;
    let filled = circumference * f64::from(score.min(100)) / 100.0;
    format!(
        concat!(
            r#"<svg class="chart gauge" viewBox="0 0 140 140" width="140" height="140" role="img" aria-label="{title}: {score} of 100, grade {grade}">"#,
            "<title>{title}: {score} of 100, grade {grade}</title>",
            r#"<circle class="track" cx="70" cy="70" r="{r}" fill="none" stroke-width="14"/>"#,
            r#"<circle class="c-grade-{grade_class}" cx="70" cy="70" r="{r}" fill="none" stroke-width="14" stroke-linecap="butt" stroke-dasharray="{filled:.1} {circumference:.1}" transform="rotate(-90 70 70)"/>"#,
            r#"<text class="gauge-score" x="70" y="72" text-anchor="middle">{score}</text>"#,
            r#"<text class="gauge-grade" x="70" y="96" text-anchor="middle">grade {grade}</text>"#,
            "</svg>"
        ),
        title = escape(title),
        score = score,
        grade = escape(grade),
        grade_class = escape(&grade.to_ascii_lowercase()),
        r = RADIUS,
        filled = filled,
        circumference = circumference,
    )
}

/// A donut of shares (zero values are left out) with `center` in the hole and a legend.
pub fn donut(segments: &[Segment], center: &str, title: &str) -> String {
    const RADIUS: f64 = 50.0;
    let circumference = 2.0 * PI * RADIUS;
    let total: f64 = segments.iter().map(|segment| segment.value.max(0.0)).sum();
    let mut svg = format!(
        r#"<svg class="chart donut" viewBox="0 0 260 140" width="260" height="140" role="img" aria-label="{title}"><title>{title}</title><circle class="track" cx="70" cy="70" r="{RADIUS}" fill="none" stroke-width="22"/>"#,
        title = escape(title),
    );
    let mut offset = 0.0;
    if total > 0.0 {
        for segment in segments.iter().filter(|segment| segment.value > 0.0) {
            let length = circumference * segment.value / total;
            let _ = write!(
                svg,
                r#"<circle class="{class}" cx="70" cy="70" r="{RADIUS}" fill="none" stroke-width="22" stroke-dasharray="{length:.1} {rest:.1}" stroke-dashoffset="{dashoffset:.1}" transform="rotate(-90 70 70)"><title>{label}: {value}</title></circle>"#,
                class = escape(segment.class),
                rest = circumference - length,
                // Written as 0, not -0.0, for the first segment.
                dashoffset = if offset > 0.0 { -offset } else { 0.0 },
                label = escape(segment.label),
                value = segment.value,
            );
            offset += length;
        }
    }
    let _ = write!(
        svg,
        r#"<text class="donut-center" x="70" y="76" text-anchor="middle">{}</text>"#,
        escape(center)
    );
    for (index, segment) in segments.iter().enumerate() {
        let y = 28 + index * 24;
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="150" y="{top}" width="12" height="12" rx="2"/><text class="legend" x="168" y="{baseline}">{label} {value}</text>"#,
            class = escape(segment.class),
            top = y - 10,
            baseline = y,
            label = escape(segment.label),
            value = segment.value,
        );
    }
    svg.push_str("</svg>");
    svg
}

const LABEL_WIDTH: f64 = 150.0;
const BAR_AREA: f64 = 300.0;
const ROW_HEIGHT: f64 = 24.0;

/// Horizontal bars, one per segment, scaled to the largest value, with the value after the bar.
pub fn bars(segments: &[Segment], title: &str) -> String {
    let height = ROW_HEIGHT * segments.len().max(1) as f64 + 8.0;
    let width = LABEL_WIDTH + BAR_AREA + 60.0;
    let largest = segments
        .iter()
        .map(|segment| segment.value)
        .fold(0.0, f64::max);
    let mut svg = format!(
        r#"<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{title}"><title>{title}</title>"#,
        title = escape(title),
    );
    for (index, segment) in segments.iter().enumerate() {
        let y = 4.0 + ROW_HEIGHT * index as f64;
        let length = if largest > 0.0 {
            (BAR_AREA * segment.value / largest).max(1.0)
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r#"<text class="label" x="{label_x}" y="{baseline}" text-anchor="end">{label}</text><rect class="{class}" x="{LABEL_WIDTH}" y="{y}" width="{length:.1}" height="16" rx="2"><title>{label}: {value}</title></rect><text class="value" x="{value_x:.1}" y="{baseline}">{value}</text>"#,
            label_x = LABEL_WIDTH - 8.0,
            baseline = y + 12.5,
            label = escape(segment.label),
            class = escape(segment.class),
            value = segment.value,
            value_x = LABEL_WIDTH + length + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One row of a stacked bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedRow<'a> {
    pub label: &'a str,
    pub segments: Vec<Segment<'a>>,
}

/// Horizontal stacked bars (e.g. findings per category split by severity), scaled to the largest
/// row total, with the total after each bar and a legend of the segment classes below.
pub fn stacked_bars(rows: &[StackedRow], legend: &[Segment], title: &str) -> String {
    let legend_height = 28.0;
    let height = ROW_HEIGHT * rows.len().max(1) as f64 + 8.0 + legend_height;
    let width = LABEL_WIDTH + BAR_AREA + 60.0;
    let total =
        |row: &StackedRow| -> f64 { row.segments.iter().map(|segment| segment.value).sum() };
    let largest = rows.iter().map(total).fold(0.0, f64::max);
    let mut svg = format!(
        r#"<svg class="chart stacked" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{title}"><title>{title}</title>"#,
        title = escape(title),
    );
    for (index, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW_HEIGHT * index as f64;
        let baseline = y + 12.5;
        let _ = write!(
            svg,
            r#"<text class="label" x="{label_x}" y="{baseline}" text-anchor="end">{label}</text>"#,
            label_x = LABEL_WIDTH - 8.0,
            label = escape(row.label),
        );
        let mut x = LABEL_WIDTH;
        for segment in row.segments.iter().filter(|segment| segment.value > 0.0) {
            let length = BAR_AREA * segment.value / largest;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{x:.1}" y="{y}" width="{length:.1}" height="16"><title>{row}: {value} {label}</title></rect>"#,
                class = escape(segment.class),
                row = escape(row.label),
                value = segment.value,
                label = escape(segment.label),
            );
            x += length;
        }
        let _ = write!(
            svg,
            r#"<text class="value" x="{x:.1}" y="{baseline}">{total}</text>"#,
            x = x + 6.0,
            total = total(row),
        );
    }
    let legend_y = ROW_HEIGHT * rows.len().max(1) as f64 + 20.0;
    let mut x = LABEL_WIDTH;
    for segment in legend {
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x}" y="{top}" width="12" height="12" rx="2"/><text class="legend" x="{text_x}" y="{legend_y}">{label}</text>"#,
            class = escape(segment.class),
            top = legend_y - 10.0,
            text_x = x + 16.0,
            label = escape(segment.label),
        );
        x += 24.0 + 8.0 * segment.label.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_snapshot() {
        insta::assert_snapshot!(gauge(72, "C", "Health score"));
    }

    #[test]
    fn gauge_is_bounded() {
        let full = gauge(100, "A", "x");
        assert!(full.contains(r#"stroke-dasharray="326.7 326.7""#), "{full}");
        let empty = gauge(0, "F", "x");
        assert!(empty.contains(r#"stroke-dasharray="0.0 326.7""#), "{empty}");
    }

    #[test]
    fn donut_snapshot() {
        insta::assert_snapshot!(donut(
            &[
                Segment::new("critical", 0.0, "c-critical"),
                Segment::new("error", 3.0, "c-error"),
                Segment::new("warning", 1.0, "c-warning"),
                Segment::new("info", 4.0, "c-info"),
            ],
            "8",
            "Findings by severity"
        ));
    }

    #[test]
    fn donut_without_values_draws_only_the_track() {
        let svg = donut(&[Segment::new("error", 0.0, "c-error")], "0", "none");
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn bars_snapshot() {
        insta::assert_snapshot!(bars(
            &[
                Segment::new("1.24.2", 40.0, "c-bar"),
                Segment::new("1.23.4 <old>", 10.0, "c-bar"),
            ],
            "Proxy versions"
        ));
    }

    #[test]
    fn stacked_snapshot() {
        let legend = [
            Segment::new("error", 0.0, "c-error"),
            Segment::new("warning", 0.0, "c-warning"),
        ];
        insta::assert_snapshot!(stacked_bars(
            &[
                StackedRow {
                    label: "Security",
                    segments: vec![
                        Segment::new("error", 2.0, "c-error"),
                        Segment::new("warning", 2.0, "c-warning"),
                    ],
                },
                StackedRow {
                    label: "Platform",
                    segments: vec![Segment::new("warning", 1.0, "c-warning")],
                },
            ],
            &legend,
            "Findings by category"
        ));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars(&[Segment::new("<script>\"&", 1.0, "c-bar")], "t");
        assert!(svg.contains("&lt;script&gt;&quot;&amp;"));
        assert!(!svg.contains("<script>"));
    }
}
