//! The score over time as a small inline SVG (drawn by the server; no script needed).

use crate::store::ScorePoint;

const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 28.0;
const MARGIN: f64 = 3.0;

/// A polyline of the scores (0 at the bottom, 100 at the top) with the newest one marked; an
/// empty string when there is no score yet.
pub fn sparkline(points: &[ScorePoint]) -> String {
    let Some(last) = points.last() else {
        return String::new();
    };
    let step = if points.len() > 1 {
        (WIDTH - 2.0 * MARGIN) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let y =
        |score: i64| MARGIN + (100 - score.clamp(0, 100)) as f64 * (HEIGHT - 2.0 * MARGIN) / 100.0;
    let coordinates: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(index, point)| format!("{:.1},{:.1}", MARGIN + step * index as f64, y(point.score)))
        .collect();
    let scores: Vec<String> = points.iter().map(|point| point.score.to_string()).collect();
    let end_x = MARGIN + step * (points.len() - 1) as f64;
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         role=\"img\" aria-label=\"Score history, oldest first: {}\">\
         <line class=\"spark-base\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\"/>\
         <polyline class=\"spark-line\" points=\"{}\"/>\
         <circle class=\"spark-end\" cx=\"{end_x:.1}\" cy=\"{:.1}\" r=\"2.5\"/></svg>",
        scores.join(", "),
        coordinates.join(" "),
        y(last.score),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(scores: &[i64]) -> Vec<ScorePoint> {
        scores
            .iter()
            .enumerate()
            .map(|(index, &score)| ScorePoint {
                collected_at: index as i64,
                score,
            })
            .collect()
    }

    #[test]
    fn scores_map_to_heights_and_the_newest_is_marked() {
        let svg = sparkline(&points(&[100, 0, 50]));
        assert!(
            svg.contains("points=\"3.0,3.0 60.0,25.0 117.0,14.0\""),
            "{svg}"
        );
        assert!(svg.contains("cx=\"117.0\" cy=\"14.0\""), "{svg}");
        assert!(svg.contains("oldest first: 100, 0, 50"), "{svg}");
        assert!(
            !svg.contains("style"),
            "the page policy allows no inline style"
        );
        assert_eq!(sparkline(&[]), "");
        assert!(sparkline(&points(&[70])).contains("points=\"3.0,9.6\""));
    }
}
