//! What leaves the process, and how big it may be: process-wide settings read once.
//!
//! The environment is read on first use; [`crate::Builder`] may override it when it is
//! installed before the first traced call (the usual order: `init()` first thing in
//! `main`). Settings never change while calls are being traced, so every span of a
//! process follows the same rules.

use std::sync::OnceLock;

/// How `mcp.session.id` is exported.
///
/// An `Mcp-Session-Id` lets whoever holds it act in that session over streamable HTTP:
/// it is a credential, so by default only a keyed digest of it leaves the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionIdExport {
    /// 32 hex characters of HMAC-SHA-256 of the id (the default). The key is random per
    /// process unless `MCP_TRACE_SESSION_KEY` (or [`crate::Builder::session_key`]) gives
    /// one, so that replicas agree.
    #[default]
    Digest,
    /// The id as the client sent it (at most 256 bytes). Opt in only when your backend
    /// is as trusted as the server: `MCP_TRACE_SESSION_ID=raw`.
    Raw,
}

/// How a resource read exports the URI it read.
///
/// URIs often carry values (`users://{email}/profile`); the convention's default is the
/// full URI, so that stays the default and is the one documented exception to "values
/// never leave the process".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UriMode {
    /// `mcp.resource.uri` as read, at most 2 KiB (the default; `MCP_TRACE_RESOURCE_URI=full`).
    #[default]
    Full,
    /// No `mcp.resource.uri`; only `mcp.resource.template` when the handler declares one
    /// (`MCP_TRACE_RESOURCE_URI=template`).
    Template,
    /// The template plus `mcp.resource.uri_digest`, a keyed digest that tells URIs apart
    /// without revealing them (`MCP_TRACE_RESOURCE_URI=digest`).
    TemplateDigest,
}

impl UriMode {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Some(UriMode::Full),
            "template" => Some(UriMode::Template),
            "digest" | "template+digest" => Some(UriMode::TemplateDigest),
            _ => None,
        }
    }
}

/// Default budget of the schema check: arguments whose approximate JSON size is above
/// it are not validated (`mcp.tool.args.schema_skipped = "too_large"`).
pub const DEFAULT_SCHEMA_CHECK_MAX_BYTES: usize = 1 << 20;

/// Overrides a [`crate::Builder`] carries; `None` keeps the environment's choice.
#[derive(Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) session_ids: Option<SessionIdExport>,
    pub(crate) session_key: Option<Vec<u8>>,
    pub(crate) args_hash_key: Option<Vec<u8>>,
    pub(crate) uri_mode: Option<UriMode>,
    pub(crate) schema_check_max_bytes: Option<usize>,
    pub(crate) log_bodies: Option<bool>,
}

impl Overrides {
    pub(crate) fn is_empty(&self) -> bool {
        self.session_ids.is_none()
            && self.session_key.is_none()
            && self.args_hash_key.is_none()
            && self.uri_mode.is_none()
            && self.schema_check_max_bytes.is_none()
            && self.log_bodies.is_none()
    }
}

/// Keys are secrets: debug output shows whether one is set, never its bytes.
impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("session_ids", &self.session_ids)
            .field("session_key", &self.session_key.as_ref().map(|_| "<set>"))
            .field(
                "args_hash_key",
                &self.args_hash_key.as_ref().map(|_| "<set>"),
            )
            .field("uri_mode", &self.uri_mode)
            .field("schema_check_max_bytes", &self.schema_check_max_bytes)
            .field("log_bodies", &self.log_bodies)
            .finish()
    }
}

/// The settings in force.
pub(crate) struct Settings {
    pub(crate) session_ids: SessionIdExport,
    /// Key of the session and URI digests.
    pub(crate) digest_key: Vec<u8>,
    /// `Some`: the argument hash is HMAC-SHA-256 under this key instead of plain SHA-256.
    pub(crate) args_hash_key: Option<Vec<u8>>,
    pub(crate) uri_mode: UriMode,
    pub(crate) schema_check_max_bytes: usize,
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` / `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    pub(crate) value_length_limit: Option<usize>,
    /// Whether the log records mirroring the MCP log messages a server sends carry the
    /// message's payload as their body (cut at [`MAX_LOG_BODY_BYTES`]); off by default:
    /// a payload is the server's free text (`MCP_TRACE_LOG_BODIES=true`).
    pub(crate) log_bodies: bool,
}

/// Most bytes of a mirrored MCP log message's payload kept as the record's body.
pub const MAX_LOG_BODY_BYTES: usize = 4096;

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("session_ids", &self.session_ids)
            .field("args_hash_keyed", &self.args_hash_key.is_some())
            .field("uri_mode", &self.uri_mode)
            .field("schema_check_max_bytes", &self.schema_check_max_bytes)
            .field("value_length_limit", &self.value_length_limit)
            .field("log_bodies", &self.log_bodies)
            .finish_non_exhaustive()
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings in force, read from the environment on first use.
pub(crate) fn get() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings::from_env(env_nonempty, Overrides::default()))
}

/// Applies a builder's overrides. `false` when traced calls already fixed the settings
/// (then the overrides are ignored, and the caller says so).
pub(crate) fn configure(overrides: Overrides) -> bool {
    if overrides.is_empty() {
        get();
        return true;
    }
    let mut applied = false;
    SETTINGS.get_or_init(|| {
        applied = true;
        Settings::from_env(env_nonempty, overrides)
    });
    applied
}

/// Says on stderr (never stdout: on stdio it is the protocol) that a variable's value
/// was not understood. The value itself is not repeated: it may be a secret.
fn unrecognised(name: &str, expected: &str, used: &str) {
    eprintln!("mcp-trace: {name} is not understood (expected {expected}); using {used}");
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>, o: Overrides) -> Self {
        let session_ids = o.session_ids.unwrap_or_else(|| {
            match env("MCP_TRACE_SESSION_ID").map(|v| v.trim().to_ascii_lowercase()) {
                Some(v) if v == "raw" => SessionIdExport::Raw,
                Some(v) if v == "digest" => SessionIdExport::Digest,
                None => SessionIdExport::Digest,
                Some(_) => {
                    unrecognised("MCP_TRACE_SESSION_ID", "\"raw\" or \"digest\"", "digest");
                    SessionIdExport::Digest
                }
            }
        });
        let digest_key = o
            .session_key
            .or_else(|| env("MCP_TRACE_SESSION_KEY").map(String::into_bytes))
            .unwrap_or_else(random_key);
        let args_hash_key = o
            .args_hash_key
            .or_else(|| env("MCP_TRACE_ARGS_HASH_KEY").map(String::into_bytes));
        // A misspelt privacy switch fails closed: a URI mode nobody recognises exports
        // no URI at all rather than the full one.
        let uri_mode = o.uri_mode.unwrap_or_else(|| {
            env("MCP_TRACE_RESOURCE_URI").map_or(UriMode::default(), |v| {
                UriMode::parse(&v).unwrap_or_else(|| {
                    unrecognised(
                        "MCP_TRACE_RESOURCE_URI",
                        "\"full\", \"template\" or \"digest\"",
                        "template",
                    );
                    UriMode::Template
                })
            })
        });
        let schema_check_max_bytes = o.schema_check_max_bytes.unwrap_or_else(|| {
            env("MCP_TRACE_SCHEMA_CHECK_MAX_BYTES").map_or(DEFAULT_SCHEMA_CHECK_MAX_BYTES, |v| {
                v.trim().parse().unwrap_or_else(|_| {
                    unrecognised(
                        "MCP_TRACE_SCHEMA_CHECK_MAX_BYTES",
                        "a number of bytes",
                        "1048576",
                    );
                    DEFAULT_SCHEMA_CHECK_MAX_BYTES
                })
            })
        });
        let value_length_limit = [
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        ]
        .into_iter()
        .find_map(|name| Some((name, env(name)?)))
        .and_then(|(name, v)| {
            let parsed = v.trim().parse().ok();
            if parsed.is_none() {
                unrecognised(name, "a number of bytes", "no limit beyond mcp-trace's own");
            }
            parsed
        });
        let log_bodies = o.log_bodies.unwrap_or_else(|| {
            match env("MCP_TRACE_LOG_BODIES").map(|v| v.trim().to_ascii_lowercase()) {
                Some(v) if v == "true" || v == "1" => true,
                Some(v) if v == "false" || v == "0" => false,
                None => false,
                Some(_) => {
                    unrecognised("MCP_TRACE_LOG_BODIES", "\"true\" or \"false\"", "false");
                    false
                }
            }
        });
        Settings {
            log_bodies,
            session_ids,
            digest_key,
            args_hash_key,
            uri_mode,
            schema_check_max_bytes,
            value_length_limit,
        }
    }
}

/// 32 bytes from the operating system's generator; should it fail, bytes from the
/// standard library's randomly seeded hasher keys (never a fixed key).
fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    #[cfg(feature = "enable")]
    let filled = getrandom::fill(&mut key).is_ok();
    #[cfg(not(feature = "enable"))]
    let filled = false;
    if !filled {
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_digest_sessions_with_a_random_key_and_keep_the_full_uri() {
        let a = Settings::from_env(env(&[]), Overrides::default());
        let b = Settings::from_env(env(&[]), Overrides::default());
        assert_eq!(a.session_ids, SessionIdExport::Digest);
        assert_eq!(a.uri_mode, UriMode::Full);
        assert_eq!(a.schema_check_max_bytes, DEFAULT_SCHEMA_CHECK_MAX_BYTES);
        assert_eq!(a.args_hash_key, None);
        assert_eq!(a.value_length_limit, None);
        assert_eq!(a.digest_key.len(), 32);
        assert_ne!(a.digest_key, b.digest_key, "a fresh key per process");
    }

    #[test]
    fn misspelt_switches_fail_closed() {
        let vars = [
            ("MCP_TRACE_SESSION_ID", "rwa"),
            ("MCP_TRACE_RESOURCE_URI", "templat"),
            ("MCP_TRACE_SCHEMA_CHECK_MAX_BYTES", "1MB"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "lots"),
        ];
        let s = Settings::from_env(env(&vars), Overrides::default());
        assert_eq!(s.session_ids, SessionIdExport::Digest);
        assert_eq!(
            s.uri_mode,
            UriMode::Template,
            "no URI rather than the full one"
        );
        assert_eq!(s.schema_check_max_bytes, DEFAULT_SCHEMA_CHECK_MAX_BYTES);
        assert_eq!(s.value_length_limit, None);
    }

    #[test]
    fn environment_and_overrides() {
        let vars = [
            ("MCP_TRACE_SESSION_ID", "RAW"),
            ("MCP_TRACE_SESSION_KEY", "fleet-key"),
            ("MCP_TRACE_ARGS_HASH_KEY", "hash-key"),
            ("MCP_TRACE_RESOURCE_URI", "digest"),
            ("MCP_TRACE_SCHEMA_CHECK_MAX_BYTES", "4096"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
        ];
        let s = Settings::from_env(env(&vars), Overrides::default());
        assert_eq!(s.session_ids, SessionIdExport::Raw);
        assert_eq!(s.digest_key, b"fleet-key");
        assert_eq!(s.args_hash_key.as_deref(), Some(&b"hash-key"[..]));
        assert_eq!(s.uri_mode, UriMode::TemplateDigest);
        assert_eq!(s.schema_check_max_bytes, 4096);
        assert_eq!(s.value_length_limit, Some(100));

        let o = Overrides {
            session_ids: Some(SessionIdExport::Digest),
            uri_mode: Some(UriMode::Template),
            schema_check_max_bytes: Some(1),
            ..Overrides::default()
        };
        let s = Settings::from_env(env(&vars), o);
        assert_eq!(s.session_ids, SessionIdExport::Digest);
        assert_eq!(s.uri_mode, UriMode::Template);
        assert_eq!(s.schema_check_max_bytes, 1);
    }
}
