//! JSON Schema (draft 2020-12) of every JSON member irsnap writes: one schema per
//! `records/<collector>.jsonl` (the shape of one line; a file that mixes record types is the
//! union tagged by `record_type`), `timeline.jsonl`, `findings.jsonl` and `manifest.json`;
//! and from them `schema/duckdb.sql` (typed DuckDB views, [`duckdb`]).
//!
//! The schemas are generated from the Rust types with schemars, in its *serialize* contract
//! (a field with `skip_serializing_if` is optional, `flatten`ed structs and internally tagged
//! enums are merged the way serde writes them), so they cannot drift from what the code
//! writes. They ship in three places: every archive (`schema/<name>.schema.json`, listed and
//! hashed in the manifest like any member), the repository (`schema/`, kept fresh by a test),
//! and `irsnap schema` on the command line. Field-by-field meaning, and the mapping to ECS
//! names, is in `schema/README.md`.

use crate::archive::manifest::{Manifest, SCHEMA_VERSION};
use crate::ids::CollectorId;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

pub mod duckdb;

/// Folder of the schemas, in the archive and in the repository.
pub const SCHEMA_DIR: &str = "schema";
/// The DuckDB views' file name, in an archive's and the repository's `schema/`.
pub const DUCKDB_SQL: &str = "duckdb.sql";

/// `duckdb.sql` for any archive: each view reads its files by glob (`records/processes*.jsonl`
/// also takes the `.2.jsonl`... parts). An archive carries its own, naming its exact files.
pub fn duckdb_generic() -> String {
    let docs = all();
    duckdb::script(&docs, &|d| {
        let glob = match d.describes.strip_suffix(".jsonl") {
            Some(stem) if stem.starts_with("records/") => format!("{stem}*.jsonl"),
            _ => d.describes.clone(),
        };
        duckdb::Files::Glob(glob)
    })
}

/// One schema document and the archive member it describes.
#[derive(Debug, Clone)]
pub struct SchemaDoc {
    /// `processes`, ..., `manifest`: the file is `<name>.schema.json`.
    pub name: &'static str,
    /// The member it describes (`records/processes.jsonl`, `manifest.json`).
    pub describes: String,
    pub schema: Value,
}

impl SchemaDoc {
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.name)
    }

    /// Stable text: pretty-printed with a final newline, so the committed copies diff cleanly.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Every schema, records first (in collection order), then the manifest.
pub fn all() -> Vec<SchemaDoc> {
    let mut docs: Vec<SchemaDoc> = CollectorId::ALL.iter().map(|&c| record_schema(c)).collect();
    docs.push(finish::<crate::timeline::TimelineEntry>(
        "timeline",
        crate::timeline::MEMBER.to_string(),
        "irsnap timeline entry",
        "One line of timeline.jsonl: one timed fact (a process start, a logged event, a file \
         time) with flat, collector-independent field names, in Timesketch's import shape, \
         pointing at its record (record_member, record_line).",
    ));
    docs.push(finish::<crate::detect::Finding>(
        "findings",
        "findings.jsonl".to_string(),
        "irsnap finding",
        "One line of findings.jsonl: a rule that fired, its ATT&CK techniques and severity, \
         who/when/where (first_seen, host, user, pid, image, command_line, channel, event_id) \
         and the evidence (archive member and line, file SHA-256).",
    ));
    docs.push(finish::<Manifest>(
        "manifest",
        "manifest.json".to_string(),
        "irsnap archive manifest",
        "manifest.json: what the archive holds (every member with its size and SHA-256), how \
         it was collected, and how each collector fared.",
    ));
    docs
}

/// The line schema of one collector's `records/<collector>.jsonl` (and of its further parts,
/// `records/<collector>.<n>.jsonl`), from the registration table: a collector without a
/// record schema does not build.
pub fn record_schema(c: CollectorId) -> SchemaDoc {
    let r = crate::registry::record_schema(c);
    finish_schema(
        r.schema,
        c.as_str(),
        c.records_member().to_string(),
        r.title,
        r.description,
    )
}

fn finish<T: JsonSchema>(
    name: &'static str,
    describes: String,
    title: &str,
    description: &str,
) -> SchemaDoc {
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    finish_schema(
        generator.into_root_schema_for::<T>(),
        name,
        describes,
        title,
        description,
    )
}

fn finish_schema(
    mut schema: Schema,
    name: &'static str,
    describes: String,
    title: &str,
    description: &str,
) -> SchemaDoc {
    absent_not_null(&mut schema);
    // Identity first, then the body as generated: the files read top-down.
    let mut out = serde_json::Map::new();
    let mut body = match schema.to_value() {
        Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("allOf".into(), Value::Array(vec![other]));
            m
        }
    };
    out.insert(
        "$schema".into(),
        body.remove("$schema")
            .unwrap_or_else(|| "https://json-schema.org/draft/2020-12/schema".into()),
    );
    out.insert(
        "$id".into(),
        format!("urn:irsnap:schema:{SCHEMA_VERSION}:{name}").into(),
    );
    out.insert("title".into(), title.into());
    out.insert("description".into(), description.into());
    out.insert("x-irsnap-schema-version".into(), SCHEMA_VERSION.into());
    out.insert("x-irsnap-member".into(), describes.clone().into());
    body.remove("title");
    body.remove("description");
    out.extend(body);
    SchemaDoc {
        name,
        describes,
        schema: Value::Object(out),
    }
}

/// irsnap leaves an empty `Option` out (`skip_serializing_if`) instead of writing `null`,
/// but schemars still types such a field "T or null". Drop the `null` from every optional
/// property so the schema says what the archive holds: absent, never null. (A required
/// property keeps its `null`: an `Option` written without `skip_serializing_if` may be null.)
fn absent_not_null(schema: &mut Schema) {
    if let Some(obj) = schema.as_object_mut() {
        let required: Vec<String> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for (name, prop) in props.iter_mut() {
                if !required.contains(name) {
                    strip_null(prop);
                }
            }
        }
    }
    schemars::transform::transform_subschemas(&mut absent_not_null, schema);
}

fn strip_null(prop: &mut Value) {
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(branches)) = obj.get_mut("anyOf")
        && branches.iter().any(is_null)
    {
        branches.retain(|b| !is_null(b));
        if branches.len() == 1
            && let Value::Object(only) = branches.remove(0)
        {
            obj.remove("anyOf");
            for (k, v) in only {
                obj.entry(k).or_insert(v);
            }
        }
    }
}

/// Write every schema as `schema/<name>.schema.json`, before the manifest, so each is listed
/// and hashed in it: an archive carries the exact definition of its own records.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_schema_per_collector_and_the_manifest() {
        let docs = all();
        assert_eq!(docs.len(), CollectorId::ALL.len() + 3);
        for d in &docs {
            assert_eq!(d.schema["x-irsnap-schema-version"], SCHEMA_VERSION);
            assert!(d.schema["$schema"].as_str().unwrap().contains("2020-12"));
        }
        assert_eq!(docs.last().unwrap().describes, "manifest.json");
    }

    #[test]
    fn hand_written_types_match_their_serialization() {
        let docs = all();
        let manifest = &docs.last().unwrap().schema;
        let sha = &manifest["$defs"]["Sha256"];
        assert_eq!(sha["type"], "string");
        assert_eq!(sha["pattern"], "^[0-9a-f]{64}$");
    }

    #[test]
    fn optional_fields_are_absent_never_null() {
        let p = record_schema(CollectorId::Processes).schema;
        // `Option<u32>` with `skip_serializing_if`: optional, and an integer when present.
        assert_eq!(p["properties"]["ppid"]["type"], "integer");
        assert!(!p["required"].as_array().unwrap().contains(&"ppid".into()));
        // `Option<Sha256>`: the null branch is gone, the reference stays.
        assert_eq!(p["properties"]["image_sha256"]["$ref"], "#/$defs/Sha256");
        assert!(p["properties"]["image_sha256"].get("anyOf").is_none());
        assert!(
            !record_schema(CollectorId::ScheduledTasks)
                .to_text()
                .contains("\"null\"")
        );
    }

    /// Every JSON type a field path can hold, across every variant of every record kind.
    fn path_types(
        s: &Value,
        defs: &Value,
        path: &str,
        seen: &mut Vec<(String, String)>,
        out: &mut std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    ) {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r).to_string();
            if seen.contains(&(name.clone(), path.to_string())) {
                return;
            }
            seen.push((name.clone(), path.to_string()));
            path_types(&defs[name.as_str()], defs, path, seen, out);
            return;
        }
        let mut add = |t: &str| {
            if t != "null" {
                out.entry(path.to_string())
                    .or_default()
                    .insert(t.to_string());
            }
        };
        match &s["type"] {
            Value::String(t) => add(t),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).for_each(&mut add),
            _ => {}
        }
        for v in s["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(s.get("const"))
        {
            add(match v {
                Value::String(_) => "string",
                Value::Number(_) => "integer",
                Value::Bool(_) => "boolean",
                _ => "other",
            });
        }
        for k in ["oneOf", "anyOf", "allOf"] {
            for v in s[k].as_array().into_iter().flatten() {
                path_types(v, defs, path, seen, out);
            }
        }
        for (name, v) in s["properties"].as_object().into_iter().flatten() {
            path_types(v, defs, &format!("{path}.{name}"), seen, out);
        }
        if s["items"].is_object() {
            path_types(&s["items"], defs, &format!("{path}[]"), seen, out);
        }
        if s["additionalProperties"].is_object() {
            path_types(
                &s["additionalProperties"],
                defs,
                &format!("{path}.*"),
                seen,
                out,
            );
        }
    }

    /// Elastic's dynamic mapping, DuckDB's `read_json_auto` and jq all need a field to keep
    /// one type: `"low"` on one line and `{"other": "x"}` on the next breaks them.
    #[test]
    fn every_field_path_has_one_json_type() {
        for d in all() {
            let mut out = std::collections::BTreeMap::new();
            path_types(&d.schema, &d.schema["$defs"], "", &mut Vec::new(), &mut out);
            assert!(out.len() > 5, "{}: nothing walked", d.name);
            for (path, types) in out {
                let mut types = types;
                if types.contains("number") {
                    types.remove("integer");
                }
                assert!(types.len() <= 1, "{}: {path} is {types:?}", d.name);
            }
        }
    }

    #[test]
    fn tagged_unions_carry_their_tag() {
        let ps = record_schema(CollectorId::PowershellLogs).to_text();
        for tag in [
            "\"event\"",
            "\"script_block\"",
            "\"psreadline\"",
            "\"log_file\"",
        ] {
            assert!(ps.contains(tag), "{tag} missing");
        }
        assert!(ps.contains("\"record_type\""));
    }
}
