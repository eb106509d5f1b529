//! `auditlog stats`: what the log holds (counts by action, actor, severity, outcome and day)
//! and how it is stored (files, sizes, tree head), as text or JSON.
//!
//! The counts come from one pass over the matching records; the maps hold one entry per
//! distinct action, actor and day, not per record.

use super::filters::{FIELD_NAMES, FilterArgs, TimeFieldArg};
use super::output::stdout_failed;
use super::{CliError, DirArg, open::open_read_only};
use auditlog::merkle::to_hex;
use auditlog::query::Field;
use auditlog::{Outcome, Record, Severity, Timestamp};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    filters: FilterArgs,
    /// How many actions and actors to list (the most frequent).
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    /// Also count the matching records by this key: a time bucket (`minute`, `hour`, `day`,
    /// UTC, of the time --time-field names) or any field (`actor`, `action`, `ip`, `source`,
    /// `metadata.EventID`, ...: the names `--where` takes). Repeat to group by several keys
    /// together (`--by day --by actor`); comma-separated lists work too.
    #[arg(long, value_name = "KEY[,...]", value_delimiter = ',')]
    by: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// One key of `--by`.
#[derive(Debug)]
enum GroupKey {
    /// Buckets of this many seconds (UTC), labelled by the first `label` characters of the
    /// bucket's start in RFC 3339 with a space for the `T`.
    Time {
        secs: i64,
        label: usize,
    },
    Field(Field),
}

impl GroupKey {
    fn parse(name: &str) -> Result<GroupKey, CliError> {
        Ok(match name.trim() {
            "minute" => GroupKey::Time {
                secs: 60,
                label: 16,
            },
            "hour" => GroupKey::Time {
                secs: 3_600,
                label: 16,
            },
            "day" => GroupKey::Time {
                secs: 86_400,
                label: 10,
            },
            other => GroupKey::Field(Field::parse(other).ok_or_else(|| {
                CliError::Usage(format!(
                    "--by {other:?}: give minute, hour, day, metadata.PATH, before.PATH, \
                     after.PATH or one of {FIELD_NAMES}"
                ))
            })?),
        })
    }

    /// The group `record` falls in, `(none)` when it lacks the time or field.
    fn of(&self, record: &Record, time: Option<Timestamp>) -> String {
        match self {
            GroupKey::Time { secs, label } => time.map_or_else(
                || "(none)".to_string(),
                |t| {
                    let nanos = secs * 1_000_000_000;
                    let start = t.as_nanos() - t.as_nanos().rem_euclid(nanos);
                    let text = Timestamp::from_nanos(start).to_rfc3339().replace('T', " ");
                    text.get(..*label).unwrap_or(&text).to_string()
                },
            ),
            GroupKey::Field(f) => f
                .value_of(record)
                .map_or_else(|| "(none)".to_string(), |v| v.into_owned()),
        }
    }
}

/// Files of one kind (by extension) in the log directory.
#[derive(Debug, Default)]
struct FileKind {
    files: u64,
    bytes: u64,
    allocated_bytes: u64,
}

#[derive(Debug, Default)]
struct Counts {
    records: u64,
    actions: HashMap<String, u64>,
    actors: HashMap<String, u64>,
    severities: BTreeMap<Severity, u64>,
    outcomes: BTreeMap<Outcome, u64>,
    /// Day start (UTC) → count; `None` for records without the chosen time.
    days: BTreeMap<Option<Timestamp>, u64>,
    occurred: Option<(Timestamp, Timestamp)>,
    /// `--by` group → count.
    groups: HashMap<Vec<String>, u64>,
}

pub fn run(args: StatsArgs) -> Result<(), CliError> {
    let query = args.filters.to_query()?;
    let keys = args
        .by
        .iter()
        .map(|k| GroupKey::parse(k))
        .collect::<Result<Vec<_>, _>>()?;
    let log = open_read_only(&args.dir.dir)?;
    let mut c = Counts::default();
    for record in log.iter(..) {
        let r = record?;
        if !query.matches(&r) {
            continue;
        }
        let e = &r.event;
        c.records += 1;
        *c.actions.entry(e.action.clone()).or_default() += 1;
        *c.actors.entry(e.actor.id.clone()).or_default() += 1;
        *c.severities.entry(e.severity).or_default() += 1;
        *c.outcomes.entry(e.outcome).or_default() += 1;
        let time = match args.filters.time_field {
            TimeFieldArg::Recorded => Some(r.recorded_at),
            TimeFieldArg::Occurred => e.occurred_at,
        };
        let day =
            time.map(|t| Timestamp::from_nanos(t.as_nanos() - t.as_nanos().rem_euclid(DAY_NANOS)));
        *c.days.entry(day).or_default() += 1;
        if !keys.is_empty() {
            let group = keys.iter().map(|k| k.of(&r, time)).collect();
            *c.groups.entry(group).or_default() += 1;
        }
        if let Some(at) = e.occurred_at {
            c.occurred = Some(match c.occurred {
                Some((lo, hi)) => (lo.min(at), hi.max(at)),
                None => (at, at),
            });
        }
    }
    let files = files_by_kind(&args.dir.dir)?;
    let head = log.tree_head()?;
    let day_field = match args.filters.time_field {
        TimeFieldArg::Recorded => "recorded_at",
        TimeFieldArg::Occurred => "occurred_at",
    };
    let first_last = |seq: u64| log.get(seq).ok().map(|r| r.recorded_at);
    let recorded = if head.size > log.first_seq() {
        first_last(log.first_seq()).zip(first_last(head.size - 1))
    } else {
        None
    };
    let by = (!keys.is_empty()).then(|| {
        let mut groups: Vec<_> = c.groups.iter().collect();
        // Time buckets read best in time order; fields, most frequent first.
        match keys.first() {
            Some(GroupKey::Time { .. }) => groups.sort_by(|a, b| a.0.cmp(b.0)),
            _ => groups.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0))),
        }
        json!({
            "keys": args.by.iter().map(|k| k.trim()).collect::<Vec<_>>(),
            "groups": groups.into_iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>(),
        })
    });
    let mut report = json!({
        "dir": args.dir.dir.display().to_string(),
        "log_id": to_hex_16(log.log_id()),
        "records_held": head.size - log.first_seq().min(head.size),
        "first_seq": log.first_seq(),
        "tree_head": {"size": head.size, "root": to_hex(&head.root)},
        "recorded_at": recorded.map(|(a, b)| json!({"first": a, "last": b})),
        "occurred_at": c.occurred.map(|(a, b)| json!({"min": a, "max": b})),
        "matching_records": c.records,
        "files": files.iter().map(|(kind, f)| (kind.clone(), json!({
            "files": f.files, "bytes": f.bytes, "allocated_bytes": f.allocated_bytes,
        }))).collect::<Map<_, _>>(),
        "by_severity": c.severities.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "by_outcome": c.outcomes.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "top_actions": top(&c.actions, args.top),
        "distinct_actions": c.actions.len(),
        "top_actors": top(&c.actors, args.top),
        "distinct_actors": c.actors.len(),
        "day_field": day_field,
        "by_day": c.days.iter().map(|(day, n)| (
            day.map_or("(none)".to_string(), |d| d.to_rfc3339()[..10].to_string()), json!(n)
        )).collect::<Map<_, _>>(),
    });
    if let (Some(by), Value::Object(map)) = (by, &mut report) {
        map.insert("by".to_string(), by);
    }
    let mut out = std::io::stdout().lock();
    let text = if args.json {
        serde_json::to_string_pretty(&report).unwrap_or_default()
    } else {
        render_text(&report)
    };
    writeln!(out, "{text}").map_err(stdout_failed)
}

fn to_hex_16(id: [u8; 16]) -> String {
    auditlog_format::meta::log_id_hex(&id)
}

/// The `n` largest counts as `[[key, count], ...]`, ties by key.
fn top(counts: &HashMap<String, u64>, n: usize) -> Value {
    let mut v: Vec<_> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    Value::Array(v.into_iter().take(n).map(|(k, c)| json!([k, c])).collect())
}

fn files_by_kind(dir: &Path) -> Result<BTreeMap<String, FileKind>, CliError> {
    let io = |e| {
        CliError::Failed(auditlog::Error::Io {
            context: format!("listing {}", dir.display()),
            source: e,
        })
    };
    let mut kinds: BTreeMap<String, FileKind> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // A writer beside us renamed or removed it (a temporary file, a retained
            // segment) between the listing and this look: it is simply no longer there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        };
        if !meta.is_file() {
            continue;
        }
        let path = entry.path();
        let kind = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("other")
            .to_string();
        let k = kinds.entry(kind).or_default();
        k.files += 1;
        k.bytes += meta.len();
        k.allocated_bytes += meta.blocks() * 512;
    }
    Ok(kinds)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The report as aligned text for a terminal.
fn render_text(r: &Value) -> String {
    let mut s = String::new();
    let mut line = |label: &str, value: String| s.push_str(&format!("{label:<22}{value}\n"));
    let str_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    line(
        "log",
        format!("{} (id {})", str_of(&r["dir"]), str_of(&r["log_id"])),
    );
    line(
        "records",
        format!(
            "{} held (from seq {}), {} matching the filters",
            r["records_held"], r["first_seq"], r["matching_records"]
        ),
    );
    line(
        "tree head",
        format!(
            "size {} root {}",
            r["tree_head"]["size"],
            str_of(&r["tree_head"]["root"])
        ),
    );
    if r["recorded_at"].is_object() {
        line(
            "recorded_at",
            format!(
                "{} .. {}",
                str_of(&r["recorded_at"]["first"]),
                str_of(&r["recorded_at"]["last"])
            ),
        );
    }
    if r["occurred_at"].is_object() {
        line(
            "occurred_at",
            format!(
                "{} .. {}",
                str_of(&r["occurred_at"]["min"]),
                str_of(&r["occurred_at"]["max"])
            ),
        );
    }
    if let Some(files) = r["files"].as_object() {
        for (kind, f) in files {
            let bytes = f["bytes"].as_u64().unwrap_or(0);
            let allocated = f["allocated_bytes"].as_u64().unwrap_or(0);
            line(
                &format!("files .{kind}"),
                format!(
                    "{} files, {} ({} allocated on disk)",
                    f["files"],
                    mib(bytes),
                    mib(allocated)
                ),
            );
        }
    }
    let pairs = |v: &Value| -> String {
        match v {
            Value::Object(m) => m
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Array(items) => items
                .iter()
                .map(|kv| format!("{} {}", str_of(&kv[0]), kv[1]))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    };
    line("by severity", pairs(&r["by_severity"]));
    line("by outcome", pairs(&r["by_outcome"]));
    line(
        "top actions",
        format!(
            "{} ({} distinct)",
            pairs(&r["top_actions"]),
            r["distinct_actions"]
        ),
    );
    line(
        "top actors",
        format!(
            "{} ({} distinct)",
            pairs(&r["top_actors"]),
            r["distinct_actors"]
        ),
    );
    line(
        &format!("by day ({})", str_of(&r["day_field"])),
        pairs(&r["by_day"]),
    );
    if let Some(groups) = r["by"]["groups"].as_array() {
        let keys: Vec<String> = r["by"]["keys"]
            .as_array()
            .map(|k| k.iter().map(str_of).collect())
            .unwrap_or_default();
        s.push_str(&format!("by {}\n", keys.join(", ")));
        for g in groups {
            let key: Vec<String> = g[0]
                .as_array()
                .map(|k| k.iter().map(str_of).collect())
                .unwrap_or_default();
            s.push_str(&format!("  {:>10}  {}\n", g[1].to_string(), key.join("  ")));
        }
    }
    s.pop();
    s
}
