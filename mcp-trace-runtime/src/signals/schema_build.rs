//! Schemas derived from parameter types: the schema check validates against them and
//! generated docs show them, so both always agree.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};
use std::marker::PhantomData;

/// One parameter type's schema, or `None` for a type with no `JsonSchema`: a plain
/// function (the generated closures capture nothing), so that the builder's code exists
/// once rather than once per parameter of every handler.
pub(crate) type DescribeType = fn(&mut SchemaGenerator) -> Option<Schema>;

/// Builds a handler schema from its parameter types; driven by generated code.
#[derive(Debug)]
pub struct SchemaBuilder {
    generator: SchemaGenerator,
    properties: Map<String, Value>,
    required: Vec<Value>,
    flattened: Option<Value>,
}

impl SchemaBuilder {
    /// Runs `describe` (generated code naming each parameter type) and returns the
    /// schema document.
    pub fn build(describe: fn(&mut SchemaBuilder)) -> Value {
        let mut builder = SchemaBuilder::new();
        describe(&mut builder);
        builder.finish()
    }

    fn new() -> Self {
        Self {
            generator: SchemaGenerator::default(),
            properties: Map::new(),
            required: Vec::new(),
            flattened: None,
        }
    }

    /// A plain parameter; `schema` is `None` for types with no `JsonSchema`, which then
    /// accept anything.
    pub fn param(&mut self, name: &str, required: bool, schema: DescribeType) {
        // A type with no `JsonSchema` says nothing: any value, and not required.
        let Some(schema) = schema(&mut self.generator) else {
            return;
        };
        self.properties.insert(name.to_owned(), Value::from(schema));
        if required {
            self.required.push(Value::String(name.to_owned()));
        }
    }

    /// A parameter that is the arguments object: its root schema's fields are merged.
    pub fn flatten(&mut self, schema: DescribeType) {
        self.flattened =
            Some(schema(&mut self.generator).map_or(Value::Object(Map::new()), Value::from));
    }

    fn finish(mut self) -> Value {
        let defs = self.generator.take_definitions(true);
        match self.flattened.take() {
            // Exactly what `schemars` (and so rmcp's `tools/list`) gives for the type.
            Some(root) if self.properties.is_empty() => root,
            flattened => {
                let mut root = Map::new();
                root.insert("type".into(), "object".into());
                let mut defs_out = Map::new();
                if let Some(Value::Object(mut flat)) = flattened {
                    if let Some(Value::Object(props)) = flat.remove("properties") {
                        self.properties.extend(props);
                    }
                    if let Some(Value::Array(req)) = flat.remove("required") {
                        self.required.extend(req);
                    }
                    if let Some(Value::Object(d)) = flat.remove("$defs") {
                        defs_out.extend(d);
                    }
                }
                defs_out.extend(defs);
                root.insert("properties".into(), Value::Object(self.properties));
                root.insert("required".into(), Value::Array(self.required));
                if !defs_out.is_empty() {
                    root.insert("$defs".into(), Value::Object(defs_out));
                }
                Value::Object(root)
            }
        }
    }
}

/// Wraps a type (no value) for probing its schema with autoref specialization: the
/// `schemars` schema where the type implements `JsonSchema`, else none.
#[allow(missing_debug_implementations)]
pub struct TypeProbe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> TypeProbe<T> {
    pub const NEW: Self = TypeProbe(PhantomData);
}

/// The describer of a type with a `JsonSchema`: a plain function per type, shared by
/// every parameter of that type in the program.
pub trait SchemaOf {
    fn __mcp_trace_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema>;
    fn __mcp_trace_root_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema>;
}
impl<T: JsonSchema + ?Sized> SchemaOf for &TypeProbe<T> {
    fn __mcp_trace_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema> {
        |generator| Some(generator.subschema_for::<T>())
    }
    fn __mcp_trace_root_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema> {
        |generator| Some(generator.root_schema_for::<T>())
    }
}

/// The describer of a type with no `JsonSchema`: nothing is known of it.
pub trait SchemaAny {
    fn __mcp_trace_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema>;
    fn __mcp_trace_root_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema>;
}
impl<T: ?Sized> SchemaAny for TypeProbe<T> {
    fn __mcp_trace_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema> {
        unknown
    }
    fn __mcp_trace_root_schema(&self) -> fn(&mut SchemaGenerator) -> Option<Schema> {
        unknown
    }
}

/// Nothing known of a type: it accepts anything.
fn unknown(_: &mut SchemaGenerator) -> Option<Schema> {
    None
}

/// What the generated code names for a parameter whose type cannot be named there.
pub fn unnamed_type() -> fn(&mut SchemaGenerator) -> Option<Schema> {
    unknown
}
