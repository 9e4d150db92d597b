//! What the engine holds: each table's and view's shards as the workers report them
//! ([`TraceStats`], summed over workers and processes), and the whole engine's figures
//! ([`EngineStats`]: every source by name, every live subscription's unread updates, and the
//! total), with a `Display` that prints them as an aligned table.
//!
//! The figures are a snapshot taken by each worker when the stats command reaches it, in
//! sequence with commits: a worker answers at once, without waiting for its dataflows to catch
//! up, so a view still computing the latest commit reports what it has arranged so far (its
//! `upper` says how far that is).
//!
//! # How each figure is gathered
//!
//! - `rows`: one walk of every batch of the shard, summing each row's multiplicities; rows
//!   whose sum is not zero count once. That is the collection at `upper - 1`, the latest time
//!   the shard is complete through. The walk costs one pass over the updates held (no copies,
//!   no allocation), on the worker thread, per call: cheap next to a read of the same source.
//!   Rows live on one worker each (differential routes by the row's or key's hash), so the sum
//!   over workers counts each row once.
//! - `updates`, `batches`: the lengths of the batches the trace holds (differential's own
//!   counts, no walk).
//! - `bytes`: an estimate, `updates × size_of::<(row, Time, Diff)>()`: the in-line size of the
//!   updates as tuples. Differential stores each distinct row once per batch (then its times
//!   and diffs), so this overstates sources with many updates per row; it does not count heap
//!   memory rows own (a `String`'s characters, a `Vec`'s elements), so it understates sources
//!   of such rows. A subscription's unread bytes are estimated alike.
//! - `since`, `upper`: the trace's compaction frontier (it no longer tells times before `since`
//!   apart) and the first time it is not complete through; the least over workers.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SourceId;
use crate::time::Time;

/// One worker's answer to a stats request: the figures of each source asked about, in the
/// order asked (sources it does not hold report zeros).
pub(crate) type Shares = Vec<(SourceId, TraceStats)>;

/// Size of a table's or view's shards, summed over workers (and processes).
///
/// A streamed table or streamed view keeps nothing on the workers: its figures are zeros and
/// `kept` is false (its `since` and `upper` are then both the source's progress).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceStats {
    /// Batches held by the trace.
    pub batches: usize,
    /// Updates `(row, time, diff)` held across those batches.
    pub updates: usize,
    /// Distinct rows (for keyed sources, `(key, value)` pairs) whose multiplicity is not zero
    /// at `upper - 1`, the latest time the trace is complete through.
    pub rows: usize,
    /// An estimate of the memory the updates take: `updates` times the in-line size of one
    /// `(row, Time, Diff)` tuple; heap memory the rows own is not counted (see the module docs).
    pub bytes: usize,
    /// The compaction frontier: the trace no longer tells apart times before it (the least
    /// over workers; a pending read or subscription holds it back at its time).
    pub since: Time,
    /// The first time the trace is not complete through (the least over workers), or
    /// `Time::MAX` once it is closed.
    pub upper: Time,
    /// Whether the source keeps its rows on the workers: false for streamed tables and views,
    /// whose other figures are then zeros.
    pub kept: bool,
    /// Subscriptions the view feeds (registered or waiting to be), on the busiest worker.
    pub subscribers: usize,
    /// Reads waiting for the source to be complete through their time, summed over workers.
    /// Each holds the source's compaction back at its time until it is answered or given up
    /// (a timeout, or a dropped `at_async` future).
    pub reads: usize,
}

impl TraceStats {
    /// A shard that keeps nothing, complete before `upper` (a streamed source).
    pub(crate) fn not_kept(upper: Option<Time>) -> Self {
        let upper = upper.unwrap_or(Time::MAX);
        TraceStats { since: upper, upper, kept: false, ..TraceStats::default() }
    }
}

impl std::ops::Add for TraceStats {
    type Output = TraceStats;

    /// Two shards' figures as one: sizes add up, `since` and `upper` are the lesser,
    /// `subscribers` the greater (every worker feeds every subscriber).
    fn add(self, other: TraceStats) -> TraceStats {
        TraceStats {
            batches: self.batches + other.batches,
            updates: self.updates + other.updates,
            rows: self.rows + other.rows,
            bytes: self.bytes + other.bytes,
            since: self.since.min(other.since),
            upper: self.upper.min(other.upper),
            kept: self.kept && other.kept,
            subscribers: self.subscribers.max(other.subscribers),
            reads: self.reads + other.reads,
        }
    }
}

/// One table or view in [`EngineStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStats {
    /// Its name.
    pub name: String,
    /// What it is: "table", "keyed table", "streamed table", "view" or "keyed view" (a
    /// streamed view is a "view" whose `trace.kept` is false).
    pub kind: &'static str,
    /// Its shards' figures, summed over every worker of every process.
    pub trace: TraceStats,
}

/// One live subscription in [`EngineStats`]: one that has not been dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionStats {
    /// The subscription's id ([`Subscription::id`](crate::Subscription::id)).
    pub id: u64,
    /// The view it reads.
    pub view: String,
    /// Updates delivered to it by the workers and not yet taken by the subscriber (what
    /// [`Subscription::pending`](crate::Subscription::pending) counts, without a streamed
    /// view's first snapshot batch, which the subscription holds itself).
    pub unread: usize,
    /// An estimate of their memory: `unread` times the in-line size of a `(row, Time, Diff)`.
    pub bytes: usize,
}

/// The sums over every source and subscription in [`EngineStats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TotalStats {
    /// Rows over every source.
    pub rows: usize,
    /// Updates held over every source.
    pub updates: usize,
    /// Batches held over every source.
    pub batches: usize,
    /// Unread updates over every subscription.
    pub unread: usize,
    /// Estimated bytes of every source's updates and every subscription's unread updates.
    pub bytes: usize,
}

/// Commits accepted and not yet applied, in [`EngineStats`] (see
/// [`BacklogLimit`](crate::BacklogLimit)).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BacklogStats {
    /// Commits accepted whose time not every table and view is complete through yet.
    pub commits: usize,
    /// Their estimated bytes (the rows' in-line size).
    pub bytes: usize,
}

/// What an engine holds: from [`Engine::stats`](crate::Engine::stats).
///
/// Print it for an aligned table (`println!("{stats}")`), or read the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStats {
    /// Every table and view, in the order they were created.
    pub sources: Vec<SourceStats>,
    /// Every live subscription, in the order they were made.
    pub subscriptions: Vec<SubscriptionStats>,
    /// The sums over both.
    pub total: TotalStats,
    /// The commits accepted and not yet applied (on process 0 of a cluster; zero elsewhere).
    pub backlog: BacklogStats,
}

impl EngineStats {
    /// The figures of `sources` and `subscriptions`, with their total.
    pub(crate) fn new(
        sources: Vec<SourceStats>,
        subscriptions: Vec<SubscriptionStats>,
        backlog: BacklogStats,
    ) -> Self {
        let mut total = TotalStats::default();
        for source in &sources {
            total.rows += source.trace.rows;
            total.updates += source.trace.updates;
            total.batches += source.trace.batches;
            total.bytes += source.trace.bytes;
        }
        for subscription in &subscriptions {
            total.unread += subscription.unread;
            total.bytes += subscription.bytes;
        }
        EngineStats { sources, subscriptions, total, backlog }
    }

    /// The figures of the table or view `name`, if the engine has it.
    pub fn source(&self, name: &str) -> Option<&SourceStats> {
        self.sources.iter().find(|source| source.name == name)
    }

    /// The figures of the subscription `id`, if it is live.
    pub fn subscription(&self, id: u64) -> Option<&SubscriptionStats> {
        self.subscriptions.iter().find(|subscription| subscription.id == id)
    }
}

/// A time for the table: `-` for a closed trace.
fn time(t: Time) -> String {
    if t == Time::MAX { "-".into() } else { t.to_string() }
}

impl fmt::Display for EngineStats {
    /// One line per source (streamed ones say "not kept"), one per subscription, and the total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["name", "kind", "rows", "updates", "batches", "bytes", "since", "upper"];
        let mut lines: Vec<[String; 8]> = vec![header.map(String::from)];
        for SourceStats { name, kind, trace } in &self.sources {
            let figures = if trace.kept {
                [trace.rows, trace.updates, trace.batches, trace.bytes].map(|n| n.to_string())
            } else {
                ["not kept".into(), "0".into(), "0".into(), "0".into()]
            };
            let [rows, updates, batches, bytes] = figures;
            let (since, upper) = (time(trace.since), time(trace.upper));
            lines.push([name.clone(), kind.to_string(), rows, updates, batches, bytes, since, upper]);
        }
        for subscription in &self.subscriptions {
            let name = format!("#{} on {}", subscription.id, subscription.view);
            let (unread, bytes) = (subscription.unread.to_string(), subscription.bytes.to_string());
            let e = String::new;
            lines.push([name, "subscription".into(), e(), unread, e(), bytes, e(), e()]);
        }
        if self.backlog.commits > 0 {
            let (commits, bytes) =
                (format!("{} commits", self.backlog.commits), self.backlog.bytes.to_string());
            let e = String::new;
            lines.push(["backlog".into(), "not applied".into(), e(), commits, e(), bytes, e(), e()]);
        }
        let total = &self.total;
        let (rows, bytes) = (total.rows.to_string(), total.bytes.to_string());
        let updates = format!("{}+{} unread", total.updates, total.unread);
        let batches = total.batches.to_string();
        lines.push([
            "total".into(),
            String::new(),
            rows,
            updates,
            batches,
            bytes,
            String::new(),
            String::new(),
        ]);
        let widths: Vec<usize> = (0..header.len())
            .map(|c| lines.iter().map(|line| line[c].chars().count()).max().unwrap_or(0))
            .collect();
        for line in &lines {
            let mut text = String::new();
            for (column, (cell, width)) in line.iter().zip(&widths).enumerate() {
                match column {
                    0 | 1 => text.push_str(&format!("{cell:<width$}  ")),
                    _ => text.push_str(&format!("{cell:>width$}  ")),
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(rows: usize, since: Time, upper: Time) -> TraceStats {
        TraceStats {
            rows,
            updates: rows + 1,
            batches: 1,
            bytes: 24 * (rows + 1),
            since,
            upper,
            kept: true,
            ..TraceStats::default()
        }
    }

    #[test]
    fn shards_add_up_and_frontiers_take_the_least() {
        let sum = kept(3, 5, 9) + kept(4, 4, 10);
        assert_eq!((sum.rows, sum.updates, sum.batches), (7, 9, 2));
        assert_eq!((sum.since, sum.upper, sum.kept), (4, 9, true));
        assert!(!(kept(1, 0, 1) + TraceStats::not_kept(Some(1))).kept);
    }

    #[test]
    fn the_table_has_a_line_per_source_and_subscription_and_a_total() {
        let sources = vec![
            SourceStats { name: "orders".into(), kind: "table", trace: kept(10, 3, 7) },
            SourceStats {
                name: "events".into(),
                kind: "streamed table",
                trace: TraceStats::not_kept(Some(7)),
            },
        ];
        let subscriptions = vec![SubscriptionStats { id: 4, view: "orders".into(), unread: 2, bytes: 48 }];
        let stats = EngineStats::new(sources, subscriptions, BacklogStats::default());
        assert_eq!((stats.total.rows, stats.total.unread, stats.total.bytes), (10, 2, 24 * 11 + 48));
        let text = stats.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[2].contains("not kept"), "{text}");
        assert!(lines[3].starts_with("#4 on orders"), "{text}");
        assert!(lines[4].starts_with("total"), "{text}");
        // Aligned: every line's `kind` column starts at the same place.
        let at = lines[0].find("kind").unwrap();
        assert_eq!(&lines[1][at..at + 5], "table");
        assert_eq!(&lines[2][at..at + 8], "streamed");
    }
}
