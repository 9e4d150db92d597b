//! SQL views checked against DuckDB, a real SQL engine none of us wrote: random tables and
//! random transactions, every supported query shape maintained as a view, and at every commit
//! each view's `SELECT ... AS OF t`, its subscription summed up to `t`, and (at some times) the
//! same query run ad hoc as a batch and an ad-hoc query over the view (which reads the view at
//! `t`), compared with DuckDB's answer over the same rows, on 1, 2 and 4 workers.
//!
//! Needs Python's `duckdb` package (`pip install duckdb`, as `.ci/run` does); fails without it.
//! Accepted differences from DuckDB are listed in TESTING.md; the shapes here avoid them
//! (integer division, the default order of `NULL`s when descending).

use crate::common_ops;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common_ops::Rng;
use ivm::sql::{Outcome, Sql, SqlSubscription, Value};
use ivm::{Config, Engine, Time};

/// Seeds per run; `IVM_SQL_SEEDS` overrides it for longer sweeps.
const SEEDS: u64 = 3;

/// Transactions per seed.
const TRANSACTIONS: usize = 14;

const TABLES: [&str; 2] = [
    "CREATE TABLE r (a BIGINT, b BIGINT, c TEXT)",
    "CREATE TABLE s (k BIGINT PRIMARY KEY, a BIGINT, d DOUBLE)",
];

/// Every query shape, each maintained as a view `q<i>`.
const SHAPES: &[&str] = &[
    "SELECT a, b + 1 AS b1, c FROM r WHERE b > 0 OR c LIKE 'x%'",
    "SELECT a, COUNT(*) AS n, COUNT(b) AS nb, SUM(b) AS sb, MIN(c) AS mc, MAX(b) AS xb, AVG(b) AS ab, \
     COUNT(DISTINCT c) AS dc FROM r GROUP BY a",
    "SELECT COUNT(*) AS n, SUM(b) AS s, MAX(c) AS m FROM r",
    // Counts and sums of what a `MIN` or `MAX` already reads (Nexmark q17's shape): computed in
    // the same `reduce`, with no running totals; a sum of another column beside them keeps its
    // running total.
    "SELECT a, COUNT(*) AS n, SUM(CASE WHEN b < 5 THEN 1 ELSE 0 END) AS lo, MIN(b) AS mb, MAX(b) AS xb, \
     SUM(b) AS sb, AVG(b) AS ab FROM r GROUP BY a",
    "SELECT a, COUNT(*) AS n, MIN(b) AS mb, SUM(b) AS sb, COUNT(c) AS nc FROM r GROUP BY a",
    "SELECT a, SUM(b) AS s FROM r GROUP BY a HAVING COUNT(*) > 1",
    // Counts and integer sums only: kept as running totals (sql/sums.rs), NULLs included.
    "SELECT a, COUNT(*) AS n, COUNT(b) AS nb, SUM(b) AS sb, AVG(b) AS ab FROM r GROUP BY a",
    "SELECT COUNT(b) AS nb, SUM(b) AS sb, AVG(b) AS ab FROM r",
    // FILTER, as Nexmark q15 and q16 use it: counts (running totals) and a general aggregate.
    "SELECT a, COUNT(*) FILTER (WHERE b > 1) AS n, COUNT(DISTINCT c) FILTER (WHERE b <= 1) AS dc, \
     SUM(b) FILTER (WHERE c LIKE 'x%') AS sb, MAX(c) FILTER (WHERE b IS NULL) AS mc FROM r GROUP BY a",
    // DISTINCT counts and integer sums: running totals over each group's distinct values, one
    // value shared by the calls of an argument whose filters differ (complementary ones too),
    // beside a general aggregate; and global.
    "SELECT a, COUNT(DISTINCT b) AS db, SUM(DISTINCT b) AS sdb, AVG(DISTINCT b) AS adb, COUNT(DISTINCT c) AS dc, \
     COUNT(DISTINCT b) FILTER (WHERE c LIKE 'x%') AS dbx, SUM(DISTINCT b) FILTER (WHERE c NOT LIKE 'x%') AS sby, \
     MIN(b) AS mb FROM r GROUP BY a",
    "SELECT COUNT(DISTINCT a) AS da, SUM(DISTINCT b) AS sb, COUNT(*) AS n FROM r",
    "SELECT DISTINCT a, c FROM r",
    "SELECT r.a, r.b, s.k, s.d FROM r JOIN s ON r.a = s.a",
    "SELECT r.a, r.b, s.k FROM r LEFT JOIN s ON r.a = s.a AND s.d > 0.5",
    "SELECT r.b, s.k FROM r RIGHT JOIN s ON r.a = s.a",
    "SELECT r.a, s.a AS sa, s.k FROM r FULL OUTER JOIN s ON r.a = s.a AND r.b < s.k",
    "SELECT r.c, s.k FROM r, s WHERE r.a = s.a AND s.d < 0.7",
    // Filters moved below joins (sql/pushdown.rs): each side's terms, one over both sides, the
    // NULL-padded side's kept above an outer join, and a term that can fail keeping all above.
    "SELECT r.a, r.c, s.k FROM r JOIN s ON r.a = s.a WHERE r.b > 1 AND s.d < 0.8 AND r.b < s.k",
    "SELECT r.a, r.b, s.k FROM r LEFT JOIN s ON r.a = s.a WHERE r.c LIKE 'x%' AND (s.k IS NULL OR s.d > 0.3)",
    "SELECT r.b, s.k FROM r RIGHT JOIN s ON r.a = s.a WHERE s.d > 0.2 AND r.b IS NOT NULL",
    "SELECT r.a, s.k FROM r JOIN s ON r.a = s.a WHERE s.k > 0 AND r.b + 1 > 2",
    "SELECT a, c FROM r WHERE r.b > 0 AND EXISTS (SELECT 1 FROM s WHERE s.a = r.a)",
    "SELECT a FROM r UNION SELECT a FROM s",
    "SELECT a FROM r UNION ALL SELECT a FROM s",
    "SELECT a FROM r EXCEPT SELECT a FROM s",
    "SELECT a FROM r EXCEPT ALL SELECT a FROM s",
    "SELECT a FROM r INTERSECT SELECT a FROM s",
    "SELECT a FROM r INTERSECT ALL SELECT a FROM s",
    "SELECT * FROM r WHERE a IN (SELECT a FROM s WHERE d > 0.3)",
    "SELECT * FROM r WHERE a NOT IN (SELECT a FROM s)",
    "SELECT * FROM r WHERE EXISTS (SELECT 1 FROM s WHERE s.a = r.a AND s.k > r.b)",
    "SELECT * FROM r WHERE NOT EXISTS (SELECT * FROM s WHERE s.a = r.a)",
    "WITH big AS (SELECT a, b FROM r WHERE b >= 2) SELECT big.a, COUNT(*) AS n FROM big GROUP BY big.a",
    "SELECT a, b, c FROM r ORDER BY b DESC NULLS LAST, a ASC NULLS FIRST, c ASC NULLS FIRST LIMIT 3",
    "SELECT CASE WHEN b IS NULL THEN 'none' WHEN b < 0 THEN 'neg' ELSE 'pos' END AS sign, \
     COALESCE(c, '?') AS c2, CAST(a AS DOUBLE) * 1.5 AS x FROM r",
    "SELECT upper(c) AS u, length(c) AS l, substr(c, 2) AS s2, c || '!' AS bang, abs(b) AS ab FROM r",
    "SELECT k, a, round(d, 2) AS d2 FROM s WHERE d BETWEEN 0.2 AND 0.8 AND a IN (1, 2, 3)",
    // Nexmark q14's and q21's idioms: counting a character, finding a parameter after a `&`.
    "SELECT c, length(c) - length(replace(c, 'x', '')) AS xs, strpos('&' || c, '&y') AS p, \
     substr(c, strpos(c, 'y') + 1) AS after FROM r",
    // Parts of timestamps (q14's HOUR), before and after 1970.
    "SELECT b, year(epoch_ms(b * 3000012345)) AS y, month(epoch_ms(b * 3000012345)) AS mo, \
     day(epoch_ms(b * 3000012345)) AS d, hour(epoch_ms(b * 3000012345)) AS h, \
     minute(epoch_ms(b * 3000012345)) AS mi, second(epoch_ms(b * 3000012345)) AS s FROM r",
    // Windows as arithmetic on a column (q8, q12), and q5's hops as a join with their offsets.
    "SELECT a, b - b % 3 AS w, COUNT(*) AS n FROM r GROUP BY a, b - b % 3",
    "SELECT r.a, h.i, r.b - h.i * 2 AS start FROM r, (VALUES (0), (1), (2)) AS h(i) WHERE r.b >= h.i",
    // A GROUP BY that reads its key and arguments through the window's projection (q5, q7,
    // q12), counting only and with a reduce; and one whose key skips a computed column.
    "SELECT t.w, t.a, COUNT(*) AS n FROM (SELECT *, b - b % 3 AS w, b - b % 3 + 3 AS e FROM r) AS t \
     GROUP BY t.a, t.w, t.e",
    "SELECT t.w, MAX(t.c) AS mc, COUNT(*) AS n, SUM(t.a) AS sa FROM (SELECT a, c, b - b % 4 AS w FROM r) AS t \
     GROUP BY t.w",
    "SELECT t.a, COUNT(*) AS n FROM (SELECT a, b * 2 AS d FROM r) AS t GROUP BY t.a",
    "SELECT t.a, t.w, COUNT(*) AS n, SUM(CASE WHEN t.b < 2 THEN 1 ELSE 0 END) AS small, MIN(t.b) AS mb \
     FROM (SELECT a, b, CAST(b * 2 AS TEXT) AS w FROM r) AS t GROUP BY t.a, t.w",
    "SELECT v.name, r.a, r.b FROM (VALUES (1, 'one'), (2, 'two'), (NULL, 'none'), (2, 'deux')) AS v(x, name) \
     JOIN r ON v.x = r.a AND r.b > v.x",
    "SELECT a, b, c FROM r WHERE c IS NOT DISTINCT FROM NULL OR b IS NULL",
    "SELECT s.a, COUNT(*) AS n, SUM(r.b) AS sb FROM r JOIN s ON r.a = s.a GROUP BY s.a",
    "SELECT x.a, y.b FROM (SELECT a, MAX(b) AS b FROM r GROUP BY a) AS x JOIN r AS y ON x.a = y.a AND x.b = y.b",
    "WITH RECURSIVE reach(x) AS (SELECT a FROM r WHERE c = 'x' UNION SELECT s.k FROM reach JOIN s ON s.a = reach.x) \
     SELECT x FROM reach",
    "WITH RECURSIVE walk(x, depth) AS (SELECT a, 0 FROM r WHERE b = 1 UNION ALL \
     SELECT s.k, walk.depth + 1 FROM walk JOIN s ON s.a = walk.x WHERE walk.depth < 3) SELECT x, depth FROM walk",
    "SELECT a, b, c, rn FROM (SELECT a, b, c, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST, c NULLS FIRST) \
     AS rn FROM r) AS ranked WHERE rn <= 2",
    // A top-k per join key over a join, partitioned by either side's key column: ranked on the
    // two sides grouped by key, the joined rows never arranged (Nexmark q9's shape).
    "SELECT k, a, b, c, rn FROM (SELECT s.k, s.a, r.b, r.c, ROW_NUMBER() OVER (PARTITION BY s.a \
     ORDER BY r.b DESC NULLS LAST, r.c NULLS FIRST, s.k) AS rn FROM s JOIN r ON s.a = r.a WHERE r.b <= s.k) AS w \
     WHERE rn <= 2",
    "SELECT a, b, k FROM (SELECT r.a, r.b, s.k, ROW_NUMBER() OVER (PARTITION BY s.a ORDER BY s.k DESC, r.b NULLS LAST) \
     AS rn FROM r JOIN s ON r.a = s.a) AS w WHERE rn <= 1",
    // Aggregates with a `MIN` or `MAX` grouped by a join key (and more): computed on the two
    // sides grouped by key, the joined rows never arranged (Nexmark q4's and q6's shape).
    "SELECT s.a, s.k, MAX(r.b) AS xb, MIN(r.c) AS mc, COUNT(*) AS n, SUM(r.b) AS sb FROM s JOIN r ON s.a = r.a \
     WHERE r.b <= s.k GROUP BY s.a, s.k",
    "SELECT r.a, MAX(s.d) AS xd, MIN(s.k) AS mk, COUNT(r.b) AS nb FROM r JOIN s ON r.a = s.a GROUP BY r.a",
    // Rows joined back to their group's `MAX` or `MIN` (Nexmark q5's shape; the one at the
    // join's keys above too): planned as a top 1 per group with ties.
    "SELECT r.a, r.b, r.c FROM r JOIN (SELECT a, MAX(b) AS m FROM r GROUP BY a) AS e ON r.a = e.a AND r.b >= e.m",
    "SELECT e.c, e.m, y.a, y.n FROM (SELECT x.c, MIN(x.n) AS m FROM (SELECT c, a, COUNT(*) AS n FROM r GROUP BY c, a) \
     AS x GROUP BY x.c) AS e JOIN (SELECT c, a, COUNT(*) AS n FROM r GROUP BY c, a) AS y ON e.c = y.c AND e.m = y.n",
    "SELECT r.a, r.c, e.m FROM r JOIN (SELECT a, MAX(c) AS m FROM r GROUP BY a) AS e ON e.a = r.a AND e.m <= r.c",
    "SELECT a, b FROM r WHERE b > (SELECT AVG(b) FROM r)",
    // One `WITH` query read twice (built once, `lower_shared`), joined with itself.
    "WITH g AS (SELECT a, COUNT(*) AS n, MAX(b) AS m FROM r GROUP BY a) \
     SELECT x.a, x.n, y.a AS other FROM g AS x JOIN g AS y ON x.n = y.n AND x.m < y.m",
    "SELECT k, (SELECT COUNT(*) FROM r) AS total, (SELECT MAX(d) FROM s) - d AS gap FROM s",
];

/// The random values of a column.
fn int(rng: &mut Rng, range: i64) -> String {
    if rng.chance(12) { "NULL".into() } else { (rng.below(range as u64) as i64 - 2).to_string() }
}

fn text(rng: &mut Rng) -> String {
    ["'x'", "'y'", "'xy'", "'yz'", "NULL", "'x'"][rng.below(6) as usize].to_string()
}

/// Random transactions of one to three statements over `r` (a bag) and `s` (keyed by `k`).
fn workload(seed: u64) -> Vec<Vec<String>> {
    let mut rng = Rng::new(seed);
    let mut keys: BTreeSet<u64> = BTreeSet::new();
    (0..TRANSACTIONS)
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| match rng.below(10) {
                    0..=3 => {
                        let rows: Vec<String> = (0..1 + rng.below(4))
                            .map(|_| {
                                format!("({}, {}, {})", int(&mut rng, 6), int(&mut rng, 9), text(&mut rng))
                            })
                            .collect();
                        format!("INSERT INTO r VALUES {}", rows.join(", "))
                    }
                    4 => format!("DELETE FROM r WHERE a = {}", rng.below(5) as i64 - 2),
                    5 => format!("UPDATE r SET b = b + 1, c = 'yz' WHERE c = {}", text(&mut rng)),
                    6 | 7 => {
                        let free: Vec<u64> = (0..10).filter(|k| !keys.contains(k)).collect();
                        if free.is_empty() {
                            keys.retain(|k| *k >= 3);
                            return "DELETE FROM s WHERE k < 3".into();
                        }
                        let k = free[rng.below(free.len() as u64) as usize];
                        keys.insert(k);
                        format!("INSERT INTO s VALUES ({k}, {}, 0.{})", int(&mut rng, 6), rng.below(10))
                    }
                    8 => {
                        let k = rng.below(10);
                        keys.remove(&k);
                        format!("DELETE FROM s WHERE k = {k}")
                    }
                    _ => format!("UPDATE s SET d = d + 0.1 WHERE a = {}", rng.below(5) as i64 - 2),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// DuckDB's answer to every shape after each transaction: `[transaction][shape]` rows, each a
/// canonical string.
fn duckdb(transactions: &[Vec<String>]) -> Vec<Vec<Vec<String>>> {
    const SCRIPT: &str = r#"
import sys, json, decimal
import duckdb
job = json.load(sys.stdin)
con = duckdb.connect()
for statement in job["tables"]:
    con.execute(statement.replace(" PRIMARY KEY", ""))
def plain(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v
out = []
for transaction in job["transactions"]:
    con.execute("BEGIN")
    for statement in transaction:
        con.execute(statement)
    con.execute("COMMIT")
    out.append([[[plain(v) for v in row] for row in con.execute(q).fetchall()] for q in job["queries"]])
print(json.dumps(out))
"#;
    let job = serde_json::json!({ "tables": TABLES, "transactions": transactions, "queries": SHAPES });
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the SQL oracle tests (pip install duckdb)");
    child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "DuckDB failed (is it installed? pip install duckdb):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Vec<Vec<Vec<serde_json::Value>>>> = serde_json::from_slice(&output.stdout).unwrap();
    results
        .into_iter()
        .map(|shapes| {
            shapes
                .into_iter()
                .map(|rows| sorted(rows.iter().map(|row| canonical_json(row)).collect()))
                .collect()
        })
        .collect()
}

/// A number as both sides print it: nine significant digits.
fn number(x: f64) -> String {
    if x == 0.0 { "0".into() } else { format!("{x:.8e}") }
}

fn canonical_json(row: &[serde_json::Value]) -> String {
    let cells: Vec<String> = row
        .iter()
        .map(|v| match v {
            serde_json::Value::Null => "NULL".into(),
            serde_json::Value::Number(n) => number(n.as_f64().unwrap()),
            serde_json::Value::String(s) => format!("{s:?}"),
            serde_json::Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        })
        .collect();
    cells.join("|")
}

fn canonical(row: &[Value]) -> String {
    let cells: Vec<String> = row
        .iter()
        .map(|v| match v {
            Value::Null => "NULL".into(),
            Value::Int(i) => number(*i as f64),
            Value::Double(d) => number(d.get()),
            Value::Decimal(d) => number(d.to_f64()),
            Value::Text(s) => format!("{s:?}"),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        })
        .collect();
    cells.join("|")
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// The rows a subscription has delivered up to and including `t`, summed.
fn summed(
    subscription: &mut SqlSubscription,
    held: &mut BTreeMap<String, isize>,
    upper: &mut Time,
    t: Time,
) -> Vec<String> {
    while *upper <= t {
        let batch =
            subscription.next_timeout(Duration::from_secs(60)).unwrap().expect("the subscription ended");
        assert!(batch.errors.is_empty(), "errors in a view: {:?}", batch.errors);
        for (row, _, diff) in batch.updates {
            *held.entry(canonical(&row)).or_insert(0) += diff;
        }
        *upper = batch.upper;
    }
    let mut rows = Vec::new();
    for (row, count) in held.iter() {
        assert!(*count >= 0, "a negative count for {row}");
        rows.extend(std::iter::repeat_n(row.clone(), *count as usize));
    }
    rows
}

fn check(seed: u64, workers: usize, transactions: &[Vec<String>], expected: &[Vec<Vec<String>>]) {
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let sql = Sql::open(&engine).unwrap();
    for table in TABLES {
        sql.execute(table).unwrap();
    }
    let mut subscriptions = Vec::new();
    for (i, shape) in SHAPES.iter().enumerate() {
        sql.execute(&format!("CREATE VIEW q{i} AS {shape}"))
            .unwrap_or_else(|e| panic!("shape {i} ({shape}): {e}"));
        subscriptions.push((sql.subscribe(&format!("SUBSCRIBE q{i}")).unwrap(), BTreeMap::new(), 0));
    }
    let mut connection = sql.connection();
    for (n, transaction) in transactions.iter().enumerate() {
        let time = if transaction.len() == 1 {
            match sql.execute(&transaction[0]).unwrap() {
                Outcome::Changed { time, .. } => time,
                other => panic!("{other:?}"),
            }
        } else {
            connection.execute("BEGIN").unwrap();
            for statement in transaction {
                connection.execute(statement).unwrap();
            }
            match connection.execute("COMMIT").unwrap() {
                Outcome::Committed(time) => time,
                other => panic!("{other:?}"),
            }
        };
        let t = time.unwrap_or_else(|| engine.latest().unwrap());
        let ad_hoc = n == transactions.len() / 2 || n + 1 == transactions.len();
        for (i, shape) in SHAPES.iter().enumerate() {
            let context =
                format!("seed {seed}, {workers} workers, transaction {n} at {t}, shape {i}: {shape}");
            let want = &expected[n][i];
            let read = sql
                .query(&format!("SELECT * FROM q{i} AS OF {t}"))
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            let got = sorted(read.rows().iter().map(|r| canonical(r)).collect());
            assert_eq!(&got, want, "view read, {context}");
            let (subscription, held, upper) = &mut subscriptions[i];
            assert_eq!(&summed(subscription, held, upper, t), want, "summed subscription, {context}");
            if ad_hoc {
                let batch =
                    sql.query(&format!("{shape} AS OF {t}")).unwrap_or_else(|e| panic!("{context}: {e}"));
                let got = sorted(batch.rows().iter().map(|r| canonical(r)).collect());
                assert_eq!(&got, want, "ad-hoc batch query, {context}");
                // An ad-hoc query over the view, which reads the view at `t`.
                let over = sql
                    .query(&format!("SELECT * FROM q{i} WHERE 1 = 1 AS OF {t}"))
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
                let got = sorted(over.rows().iter().map(|r| canonical(r)).collect());
                assert_eq!(&got, want, "ad-hoc query over the view, {context}");
            }
        }
    }
}

#[test]
fn every_query_shape_agrees_with_duckdb_at_every_time_on_1_2_and_4_workers() {
    let seeds = std::env::var("IVM_SQL_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS);
    for seed in 0..seeds {
        let transactions = workload(seed);
        let expected = duckdb(&transactions);
        for workers in [1, 2, 4] {
            check(seed, workers, &transactions, &expected);
        }
    }
}
