//! Tasks (the MCP tasks extension, `io.modelcontextprotocol/tasks`): a `tools/call`
//! answered with a task returns at once, and the work runs on. Each task gets a span
//! of its own, `task {tool}`, from the answer that created it to the first terminal
//! status the server reports (a `tasks/get` answer or a `notifications/tasks`): the
//! child of the creating request's span, which links to it, as does every `tasks/get`,
//! `tasks/update` and `tasks/cancel` span about it.
//!
//! The table of open tasks is process-wide (a client may poll over another
//! connection), keyed by a digest of the task id (the id is a handle to the task's
//! result: it is never exported or kept), bounded ([`MAX_TASKS`]) and let go of at the
//! task's TTL (plus [`GRACE`]) or after [`MAX_LIFE`], or as the process stops: such a
//! task ends `expired`. Task ids are taken to be unique in the process (rmcp's are
//! UUIDs): a server whose ids repeat across sessions would mix their tasks up. An id
//! the table does not know is recorded as such (`mcp.task.known = false`) and never
//! stored.

use crate::call::Call;
use crate::handler::outcome::Outcome;
use crate::keys;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanContext;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Most tasks followed at once; past it, the oldest ends `expired`.
pub(crate) const MAX_TASKS: usize = 4096;

/// How long past its TTL a task is still followed: a server may keep a task's state
/// longer than its TTL says (rmcp keeps a finished task for one more TTL).
pub(crate) const GRACE: Duration = Duration::from_secs(60);

/// The longest a task is followed (a task with no TTL, or a TTL longer than this).
pub(crate) const MAX_LIFE: Duration = Duration::from_secs(24 * 60 * 60);

/// How often the table is swept for tasks past their time.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What the server reports of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Working,
    InputRequired,
    /// Done; `tool_error` when its result says `isError: true`.
    Completed {
        tool_error: bool,
    },
    /// Failed with a JSON-RPC error (its code, when it has one).
    Failed {
        code: Option<i64>,
    },
    Cancelled,
}

impl Status {
    /// `mcp.task.status`: the specification's names, and `expired` of ours.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed { .. } => "completed",
            Status::Failed { .. } => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    fn terminal(self) -> bool {
        matches!(
            self,
            Status::Completed { .. } | Status::Failed { .. } | Status::Cancelled
        )
    }

    /// How the task span ends: by the tool's rules, a result with `isError` is a
    /// `tool_error`, a JSON-RPC error its code (no failure when the code is the
    /// client's mistake), and a cancelled task no error.
    fn outcome(self) -> Outcome {
        match self {
            Status::Completed { tool_error: true } => Outcome::ToolError,
            Status::Failed { code: Some(code) } => Outcome::rpc_error(code),
            Status::Failed { code: None } => Outcome::Error {
                error_type: "task_failed".into(),
                rpc_code: None,
            },
            _ => Outcome::Ok(None),
        }
    }
}

/// An open task: its span, and when it is let go of.
#[derive(Debug)]
struct Open {
    span: Call,
    expires: Instant,
    created: Instant,
}

#[derive(Debug, Default)]
struct Table {
    open: HashMap<[u8; 16], Open>,
    swept: Option<Instant>,
    /// Terminal statuses reported for tasks not (yet) followed: a task may finish and
    /// say so before the answer that created it has been seen. At most [`EARLY`].
    early: std::collections::VecDeque<([u8; 16], Status)>,
}

/// Most terminal statuses of unfollowed tasks kept for a creation seen late.
const EARLY: usize = 256;

fn table() -> MutexGuard<'static, Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// 128 bits of SHA-256 of the task id: all the table keeps of it.
fn key(task_id: &str) -> [u8; 16] {
    let digest = Sha256::digest(task_id.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl Table {
    /// Takes out the tasks past their time (at most once a [`SWEEP_EVERY`]) and, when
    /// full, the oldest, into `gone`.
    fn sweep(&mut self, now: Instant, gone: &mut Vec<Open>) {
        if self
            .swept
            .is_none_or(|swept| now.duration_since(swept) >= SWEEP_EVERY)
        {
            self.swept = Some(now);
            let past: Vec<[u8; 16]> = self
                .open
                .iter()
                .filter(|(_, open)| open.expires <= now)
                .map(|(key, _)| *key)
                .collect();
            gone.extend(past.iter().filter_map(|key| self.open.remove(key)));
        }
        if self.open.len() >= MAX_TASKS
            && let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, open)| open.created)
                .map(|(key, _)| *key)
        {
            gone.extend(self.open.remove(&oldest));
        }
    }
}

/// Ends the spans of tasks let go of unfinished: `expired`, no error.
fn expire(gone: Vec<Open>) {
    for open in gone {
        end(open.span, None);
    }
}

/// Ends a task span with what the server last said of it (`None`: nothing terminal,
/// the task was let go of).
fn end(span: Call, status: Option<Status>) {
    let name = status.map_or("expired", Status::name);
    span.add_attributes(vec![KeyValue::new(keys::TASK_STATUS, name)]);
    if status == Some(Status::Cancelled) {
        span.add_attributes(vec![KeyValue::new(keys::CANCELLED, true)]);
    }
    span.finish_at(|| status.map_or(Outcome::Ok(None), Status::outcome), None);
}

/// Follows the task `task_id` (TTL `ttl_ms`), whose span `span` has just started.
pub(crate) fn created(task_id: &str, ttl_ms: Option<u64>, span: Call, status: Status) {
    let key = key(task_id);
    // Finished already, and said so before its creation was seen.
    let early = {
        let mut table = table();
        let found = table.early.iter().position(|(k, _)| *k == key);
        found.and_then(|at| table.early.remove(at))
    };
    if let Some((_, reported)) = early {
        end(span, Some(reported));
        return;
    }
    if status.terminal() {
        end(span, Some(status));
        return;
    }
    let now = Instant::now();
    let life = ttl_ms
        .map(|ms| Duration::from_millis(ms).saturating_add(GRACE))
        .unwrap_or(MAX_LIFE)
        .min(MAX_LIFE);
    let open = Open {
        span,
        expires: now + life,
        created: now,
    };
    let mut gone = Vec::new();
    {
        let mut table = table();
        table.sweep(now, &mut gone);
        if let Some(earlier) = table.open.insert(key, open) {
            gone.push(earlier);
        }
    }
    expire(gone);
}

/// The span of the open task `task_id`, for a request about it to link to; `None`
/// for a task this process does not follow.
pub(crate) fn about(task_id: &str) -> Option<SpanContext> {
    let mut gone = Vec::new();
    let found = {
        let mut table = table();
        table.sweep(Instant::now(), &mut gone);
        table.open.get(&key(task_id)).map(|open| {
            open.span
                .span_context()
                .unwrap_or_else(SpanContext::empty_context)
        })
    };
    expire(gone);
    found
}

/// The server reported `status` for `task_id`: a terminal status ends its span (or is
/// kept a while for a task whose creation has not been seen yet).
pub(crate) fn reported(task_id: &str, status: Status) {
    if !status.terminal() {
        return;
    }
    let key = key(task_id);
    let mut gone = Vec::new();
    let open = {
        let mut table = table();
        table.sweep(Instant::now(), &mut gone);
        let open = table.open.remove(&key);
        if open.is_none() {
            if table.early.len() >= EARLY {
                table.early.pop_front();
            }
            table.early.push_back((key, status));
        }
        open
    };
    expire(gone);
    if let Some(open) = open {
        end(open.span, Some(status));
    }
}

/// Lets go of every open task (the process is stopping): each ends `expired`.
pub(crate) fn drain() {
    let gone: Vec<Open> = table().open.drain().map(|(_, open)| open).collect();
    expire(gone);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_task_is_small_in_the_table() {
        // Key, entry and the hash map's control byte; the span's own state (the SDK's
        // span data, about 1 KiB while it records) is measured by the tests crate.
        let entry = std::mem::size_of::<([u8; 16], Open)>() + 1;
        assert!(entry <= 64, "{entry} bytes");
    }

    fn open(task_id: &str) -> bool {
        table().open.contains_key(&key(task_id))
    }

    #[test]
    fn tasks_end_when_reported_early_or_late_or_drained() {
        reported("early-task", Status::Completed { tool_error: false });
        assert!(!open("early-task"));
        created("early-task", None, Call::default(), Status::Working);
        assert!(!open("early-task"), "ended as reported, not followed");
        assert!(!table().early.iter().any(|(k, _)| *k == key("early-task")));
        // A working status is no news: nothing kept.
        reported("working-task", Status::Working);
        assert!(!table().early.iter().any(|(k, _)| *k == key("working-task")));

        // (One test: `drain` empties the process's table.)
        created(
            "followed-task",
            Some(60_000),
            Call::default(),
            Status::Working,
        );
        assert!(open("followed-task"));
        assert!(about("followed-task").is_some());
        reported("followed-task", Status::Cancelled);
        assert!(!open("followed-task"));
        assert!(about("followed-task").is_none());
        created("drained-task", None, Call::default(), Status::Working);
        drain();
        assert!(!open("drained-task"));
    }

    #[test]
    fn outcomes_follow_the_tools_rules() {
        assert_eq!(
            Status::Completed { tool_error: true }.outcome(),
            Outcome::ToolError
        );
        assert_eq!(
            Status::Completed { tool_error: false }.outcome(),
            Outcome::Ok(None)
        );
        assert_eq!(
            Status::Failed { code: Some(-32603) }.outcome(),
            Outcome::rpc_error(-32603)
        );
        assert_eq!(Status::Cancelled.outcome(), Outcome::Ok(None));
        assert!(!Status::Working.terminal() && !Status::InputRequired.terminal());
    }
}
