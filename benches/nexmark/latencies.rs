//! Per-transaction latencies of a closed-loop run (`live`, `streamed`, `sql`, `bare`,
//! `bare_arranged`): their quantiles, and with `IVM_NEXMARK_LATENCIES=<folder>` the whole
//! series in commit order.

use crate::args::ChildOptions;

/// The `q` quantile (0 to 1) of `values`, nearest rank; NaN for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// With `IVM_NEXMARK_LATENCIES=<folder>`, writes each transaction's latency (µs, one a line,
/// in commit order) to `<folder>/<query>-<mode>-w<workers>.txt`: where the slow ones fall in
/// the run, which the percentiles cannot say.
pub fn write(latencies: &[f64], options: &ChildOptions) -> Result<(), String> {
    let Some(folder) = std::env::var_os("IVM_NEXMARK_LATENCIES") else {
        return Ok(());
    };
    let name = format!("{}-{}-w{}.txt", options.query, options.mode.name(), options.workers);
    let path = std::path::Path::new(&folder).join(name);
    let lines: String = latencies.iter().map(|seconds| format!("{:.0}\n", seconds * 1e6)).collect();
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&path, lines))
        .map_err(|e| format!("writing latencies to {}: {e}", path.display()))
}
