//! The arguments' fields as the signals see them: each parameter's JSON name and the
//! attribute keys the macros built from it ([`ParamMeta`]), and what the schema, when
//! one is known, declares of a flattened arguments object ([`FieldInfo`]). The schema
//! check produces the latter and the shapes read both, so neither depends on the other.

/// One argument-carrying parameter: its JSON name and the attribute keys built from it
/// at compile time, so recording a typed shape allocates no key.
#[derive(Debug)]
pub struct ParamMeta {
    pub(crate) name: &'static str,
    /// `"name": ` as the canonical argument text starts this member; empty when the
    /// name must be escaped there.
    #[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
    pub(crate) member: &'static str,
    pub(crate) value_key: &'static str,
    pub(crate) length_key: &'static str,
    pub(crate) count_key: &'static str,
    pub(crate) present_key: &'static str,
    pub(crate) optional: bool,
}

impl ParamMeta {
    /// `member`: `"name": ` when `name` needs no escaping, else empty; `keys` are
    /// `[value, .length, .count, .present]`.
    pub const fn new(
        name: &'static str,
        member: &'static str,
        keys: [&'static str; 4],
        optional: bool,
    ) -> Self {
        let [value_key, length_key, count_key, present_key] = keys;
        Self {
            name,
            member,
            value_key,
            length_key,
            count_key,
            present_key,
            optional,
        }
    }
}

/// What is known of a flattened arguments object's fields from its schema.
#[derive(Debug, Default, Clone, Copy)]
#[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
pub(crate) struct FieldInfo<'a> {
    /// Declared properties; `None` when no schema is known.
    pub(crate) properties: Option<&'a [DeclaredField]>,
}

/// A top-level property a schema declares, with its attribute keys built once when
/// the schema is compiled, so that shaping a call allocates no key.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
pub(crate) struct DeclaredField {
    pub(crate) name: String,
    /// Not in the schema's `required`: shaped with `.present`.
    pub(crate) optional: bool,
    /// `[value, .length, .count, .present]`; `None` when the name is not safe to put
    /// in an attribute key (it is still declared, so never counted as undeclared).
    pub(crate) keys: Option<[opentelemetry::Key; 4]>,
}

impl DeclaredField {
    #[cfg_attr(not(feature = "schema-check"), allow(dead_code))]
    pub(crate) fn new(name: String, optional: bool) -> Self {
        let keys = is_key_safe(&name).then(|| {
            ["", ".length", ".count", ".present"].map(|suffix| {
                let key = format!("{}{name}{suffix}", crate::keys::ARGS_PREFIX);
                opentelemetry::Key::from(std::sync::Arc::<str>::from(key))
            })
        });
        Self {
            name,
            optional,
            keys,
        }
    }
}

/// Longest key that may name an attribute.
const MAX_KEY_LEN: usize = 64;

/// Whether a field name may become part of an attribute key: short, and only ASCII
/// letters, digits, `_` and `-`.
pub(crate) fn is_key_safe(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
