//! Static descriptors the macros emit once per handler.

use crate::signals::fields::ParamMeta;

/// Everything a `#[traced_tool]` knows at compile time.
#[derive(Debug)]
pub struct ToolMeta {
    pub(crate) name: &'static str,
    pub(crate) span_name: &'static str,
    #[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
    pub(crate) params: &'static [ParamMeta],
    /// A parameter *is* the arguments object (`#[args]`, `Parameters<T>`): raw top-level
    /// keys beyond the named parameters are shaped too.
    #[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
    pub(crate) flattened: bool,
    #[cfg(feature = "schema-check")]
    pub(crate) schema: crate::signals::schema::HandlerSchema,
}

impl ToolMeta {
    pub const fn new(
        name: &'static str,
        span_name: &'static str,
        params: &'static [ParamMeta],
        flattened: bool,
    ) -> Self {
        Self {
            name,
            span_name,
            params,
            flattened,
            #[cfg(feature = "schema-check")]
            schema: crate::signals::schema::HandlerSchema::derived(),
        }
    }

    /// The schema file named by `schema = "…"`, embedded with `include_str!`.
    #[cfg(feature = "schema-check")]
    pub const fn with_schema_file(mut self, text: &'static str) -> Self {
        // `const fn` cannot drop the placeholder (it owns a `OnceLock`): forget it.
        std::mem::forget(std::mem::replace(
            &mut self.schema,
            crate::signals::schema::HandlerSchema::file(text),
        ));
        self
    }
}

/// Everything a `#[traced_resource]` knows at compile time.
#[derive(Debug)]
pub struct ResourceMeta {
    pub(crate) name: Option<&'static str>,
    pub(crate) template: Option<&'static str>,
    /// `uri_mode = "…"` of the handler; `None`: the process-wide mode.
    pub(crate) uri_mode: Option<crate::settings::UriMode>,
}

impl ResourceMeta {
    pub const fn new(name: Option<&'static str>, template: Option<&'static str>) -> Self {
        Self {
            name,
            template,
            uri_mode: None,
        }
    }

    /// How this handler's spans export the URI, whatever the process-wide mode.
    pub const fn with_uri_mode(mut self, mode: crate::settings::UriMode) -> Self {
        self.uri_mode = Some(mode);
        self
    }
}
