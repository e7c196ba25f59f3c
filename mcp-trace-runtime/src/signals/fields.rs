//! The arguments' fields as the signals see them: each parameter's JSON name and the
//! attribute keys the macros built from it ([`ParamMeta`]), and what the schema, when
//! one is known, declares of a flattened arguments object ([`FieldInfo`]). The schema
//! check produces the latter and the shapes read both, so neither depends on the other.

/// One argument-carrying parameter: its JSON name and the attribute keys built from it
/// at compile time, so recording a typed shape allocates no key.
#[derive(Debug)]
pub struct ParamMeta {
    pub(crate) name: &'static str,
    pub(crate) value_key: &'static str,
    pub(crate) length_key: &'static str,
    pub(crate) count_key: &'static str,
    pub(crate) present_key: &'static str,
    pub(crate) optional: bool,
}

impl ParamMeta {
    /// `keys` are `[value, .length, .count, .present]`.
    pub const fn new(name: &'static str, keys: [&'static str; 4], optional: bool) -> Self {
        let [value_key, length_key, count_key, present_key] = keys;
        Self {
            name,
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
    pub(crate) properties: Option<&'a [String]>,
    pub(crate) required: &'a [String],
}
