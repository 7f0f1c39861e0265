//! Prometheus text exposition of the server's counters, kept in atomics (no registry crate:
//! a handful of series).

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the analysis duration histogram.
const DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    Created,
    Duplicate,
    Rejected,
    TooLarge,
}

impl UploadOutcome {
    const ALL: [UploadOutcome; 4] = [
        UploadOutcome::Created,
        UploadOutcome::Duplicate,
        UploadOutcome::Rejected,
        UploadOutcome::TooLarge,
    ];

    fn label(self) -> &'static str {
        match self {
            UploadOutcome::Created => "created",
            UploadOutcome::Duplicate => "duplicate",
            UploadOutcome::Rejected => "rejected",
            UploadOutcome::TooLarge => "too_large",
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    uploads: [AtomicU64; 4],
    analyses_done: AtomicU64,
    analyses_failed: AtomicU64,
    queue_depth: AtomicI64,
    durations: Mutex<Histogram>,
    rate_limited: AtomicU64,
}

impl Metrics {
    pub fn upload(&self, outcome: UploadOutcome) {
        self.uploads[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn queued(&self) {
        self.queue_depth.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot left the queue for a worker.
    pub fn dequeued(&self) {
        self.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn finished(&self, ok: bool, took: Duration) {
        if ok {
            self.analyses_done.fetch_add(1, Ordering::Relaxed);
        } else {
            self.analyses_failed.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = took.as_secs_f64();
        let mut histogram = self
            .durations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (bucket, bound) in histogram.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    pub fn queue_depth(&self) -> i64 {
        self.queue_depth.load(Ordering::Relaxed)
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP meshcheck_uploads_total Snapshot uploads by outcome.\n# TYPE meshcheck_uploads_total counter"
        );
        for outcome in UploadOutcome::ALL {
            let _ = writeln!(
                out,
                "meshcheck_uploads_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.uploads[outcome as usize].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP meshcheck_analyses_total Finished analyses by outcome.\n# TYPE meshcheck_analyses_total counter\n\
             meshcheck_analyses_total{{outcome=\"done\"}} {}\nmeshcheck_analyses_total{{outcome=\"failed\"}} {}",
            self.analyses_done.load(Ordering::Relaxed),
            self.analyses_failed.load(Ordering::Relaxed)
        );
        let histogram = self
            .durations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = writeln!(
            out,
            "# HELP meshcheck_analysis_duration_seconds Time to analyze a snapshot and store its reports.\n\
             # TYPE meshcheck_analysis_duration_seconds histogram"
        );
        for (count, bound) in histogram.buckets.iter().zip(DURATION_BUCKETS) {
            let _ = writeln!(
                out,
                "meshcheck_analysis_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "meshcheck_analysis_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
             meshcheck_analysis_duration_seconds_sum {}\nmeshcheck_analysis_duration_seconds_count {}",
            histogram.count, histogram.sum, histogram.count
        );
        drop(histogram);
        let _ = writeln!(
            out,
            "# HELP meshcheck_analysis_queue_depth Snapshots waiting for a worker.\n# TYPE meshcheck_analysis_queue_depth gauge\n\
             meshcheck_analysis_queue_depth {}\n\
             # HELP meshcheck_rate_limited_total Requests refused by the per-token rate limit.\n# TYPE meshcheck_rate_limited_total counter\n\
             meshcheck_rate_limited_total {}",
            self.queue_depth.load(Ordering::Relaxed),
            self.rate_limited.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histogram_render_in_prometheus_text() {
        let metrics = Metrics::default();
        metrics.upload(UploadOutcome::Created);
        metrics.upload(UploadOutcome::Created);
        metrics.upload(UploadOutcome::TooLarge);
        metrics.queued();
        metrics.queued();
        metrics.dequeued();
        metrics.finished(true, Duration::from_millis(300));
        let text = metrics.render();
        for line in [
            "meshcheck_uploads_total{outcome=\"created\"} 2",
            "meshcheck_uploads_total{outcome=\"too_large\"} 1",
            "meshcheck_analyses_total{outcome=\"done\"} 1",
            "meshcheck_analysis_duration_seconds_bucket{le=\"0.25\"} 0",
            "meshcheck_analysis_duration_seconds_bucket{le=\"0.5\"} 1",
            "meshcheck_analysis_duration_seconds_bucket{le=\"+Inf\"} 1",
            "meshcheck_analysis_duration_seconds_count 1",
            "meshcheck_analysis_queue_depth 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
