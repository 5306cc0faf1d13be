//! `schema/duckdb.sql`: one DuckDB view per record file, `timeline` and `findings`, with the
//! columns and types the JSON Schemas declare, so that `SELECT uid FROM processes` works on
//! any archive, also when a collector found nothing (an empty file gives no column to
//! `read_json_auto`) or did not run (no file at all).
//!
//! Types: strings `VARCHAR`; integers `BIGINT` (`UBIGINT` when unsigned); numbers `DOUBLE`;
//! booleans `BOOLEAN`; objects, arrays and fields whose type varies between record kinds
//! `JSON` (query them with `->>`). Date-time strings are read as `VARCHAR` and exposed
//! `TRY_CAST` to `TIMESTAMPTZ`: one odd value (a year past 9999 in a hostile log) gives a
//! NULL, never a view that fails to load.

use super::SchemaDoc;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One column: its DuckDB type, and whether it is a date-time read as text.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    ty: &'static str,
    timestamp: bool,
}

/// Where one view reads from: the exact members (in an archive), a glob (for any archive),
/// or nothing (the collector did not run: an empty view with the same columns).
pub enum Files {
    Members(Vec<String>),
    Glob(String),
}

fn deref<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    let mut cur = s;
    for _ in 0..32 {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or(r);
                match root["$defs"].get(name) {
                    Some(d) => cur = d,
                    None => return cur,
                }
            }
            None => return cur,
        }
    }
    cur
}

/// The top-level properties of a record schema, over every variant of a tagged union (a
/// variant is a `$ref` to its struct beside the `properties` holding its tag).
fn properties<'a>(
    s: &'a Value,
    root: &'a Value,
    out: &mut Vec<(&'a str, Vec<&'a Value>)>,
    depth: u32,
) {
    if depth > 32 {
        return;
    }
    if let Some(props) = s["properties"].as_object() {
        for (name, p) in props {
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push(p),
                None => out.push((name, vec![p])),
            }
        }
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        for v in s[k].as_array().into_iter().flatten() {
            properties(v, root, out, depth + 1);
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if let Some(d) = root["$defs"].get(name) {
            properties(d, root, out, depth + 1);
        }
    }
}

/// The JSON types a property can hold (`string`, `integer`...), and whether it is a date-time
/// or unsigned.
fn kinds(s: &Value, root: &Value, out: &mut BTreeMap<&'static str, (bool, bool)>, depth: u32) {
    if depth > 16 {
        return;
    }
    let s = deref(s, root);
    let fmt = s["format"].as_str().unwrap_or("");
    let mut add = |t: &str| {
        let t: &'static str = match t {
            "string" => "string",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "array" => "array",
            "object" => "object",
            _ => return,
        };
        let e = out.entry(t).or_insert((true, true));
        e.0 &= fmt == "date-time";
        e.1 &= fmt.starts_with("uint");
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
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::Bool(_) => "boolean",
            _ => "",
        });
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        for v in s[k].as_array().into_iter().flatten() {
            kinds(v, root, out, depth + 1);
        }
    }
}

fn column(variants: &[&Value], root: &Value) -> Column {
    let mut k = BTreeMap::new();
    for v in variants {
        kinds(v, root, &mut k, 0);
    }
    if k.contains_key("number") {
        k.remove("integer");
    }
    let json = Column {
        ty: "JSON",
        timestamp: false,
    };
    if k.len() != 1 {
        return json;
    }
    match k.into_iter().next() {
        Some(("string", (ts, _))) => Column {
            ty: "VARCHAR",
            timestamp: ts,
        },
        Some(("integer", (_, unsigned))) => Column {
            ty: if unsigned { "UBIGINT" } else { "BIGINT" },
            timestamp: false,
        },
        Some(("number", _)) => Column {
            ty: "DOUBLE",
            timestamp: false,
        },
        Some(("boolean", _)) => Column {
            ty: "BOOLEAN",
            timestamp: false,
        },
        _ => json,
    }
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A quoted SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The `CREATE VIEW` for one schema document.
pub fn view(doc: &SchemaDoc, files: &Files) -> String {
    let root = &doc.schema;
    let mut props = Vec::new();
    properties(root, root, &mut props, 0);
    let cols: Vec<(&str, Column)> = props.iter().map(|(n, v)| (*n, column(v, root))).collect();
    let mut sql = String::new();
    let _ = writeln!(sql, "-- {}: {}", doc.describes, doc.name);
    let name = ident(doc.name);
    let source = match files {
        Files::Members(m) if m.is_empty() => None,
        Files::Members(m) => Some(format!(
            "[{}]",
            m.iter().map(|f| lit(f)).collect::<Vec<_>>().join(", ")
        )),
        Files::Glob(g) => Some(lit(g)),
    };
    let select: Vec<String> = cols
        .iter()
        .map(|(n, c)| {
            if c.timestamp {
                format!("TRY_CAST({0} AS TIMESTAMPTZ) AS {0}", ident(n))
            } else {
                ident(n)
            }
        })
        .collect();
    match source {
        Some(src) => {
            let columns: Vec<String> = cols
                .iter()
                .map(|(n, c)| format!("{}: {}", lit(n), lit(c.ty)))
                .collect();
            let _ = writeln!(
                sql,
                "CREATE OR REPLACE VIEW {name} AS SELECT {} FROM read_json({src}, \
                 format = 'newline_delimited', maximum_object_size = 268435456, \
                 columns = {{{}}});",
                select.join(", "),
                columns.join(", ")
            );
        }
        None => {
            // Not run: the same columns, no rows.
            let typed: Vec<String> = cols
                .iter()
                .map(|(n, c)| {
                    let ty = if c.timestamp { "TIMESTAMPTZ" } else { c.ty };
                    format!("CAST(NULL AS {ty}) AS {}", ident(n))
                })
                .collect();
            let _ = writeln!(
                sql,
                "CREATE OR REPLACE VIEW {name} AS SELECT {} WHERE false;",
                typed.join(", ")
            );
        }
    }
    sql
}

/// The whole file: a header saying how to use it, then one view per document except the
/// manifest (one JSON document, not lines: `read_json('manifest.json')` reads it as is).
pub fn script(docs: &[SchemaDoc], files_of: &dyn Fn(&SchemaDoc) -> Files) -> String {
    let mut sql = String::from(
        "-- irsnap: DuckDB views over an archive's records, with declared column types.\n\
         -- Unzip the archive, then from its top directory:\n\
         --   duckdb -init schema/duckdb.sql      (or: duckdb -c \".read schema/duckdb.sql\" ...)\n\
         --   SELECT pid, image, command_line FROM processes;\n\
         -- Nested values (objects, lists, fields typed per record kind) are JSON: use ->>.\n\n",
    );
    for d in docs.iter().filter(|d| d.name != "manifest") {
        sql.push_str(&view(d, &files_of(d)));
        sql.push('\n');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_file_gets_typed_columns() {
        let docs = super::super::all();
        let sql = script(&docs, &|d| Files::Glob(d.describes.clone()));
        for name in [
            "processes",
            "scheduled_tasks",
            "execution_events",
            "timeline",
            "findings",
        ] {
            assert!(sql.contains(&format!("VIEW \"{name}\" AS")), "{name}");
        }
        assert!(!sql.contains("VIEW \"manifest\""));
        let procs = view(
            docs.iter().find(|d| d.name == "processes").unwrap(),
            &Files::Members(vec!["records/processes.jsonl".into()]),
        );
        assert!(procs.contains("'pid': 'UBIGINT'"), "{procs}");
        assert!(procs.contains("'command_line': 'VARCHAR'"), "{procs}");
        assert!(
            procs.contains("TRY_CAST(\"start_time\" AS TIMESTAMPTZ)"),
            "{procs}"
        );
        let none = view(
            docs.iter().find(|d| d.name == "network").unwrap(),
            &Files::Members(vec![]),
        );
        assert!(none.contains("WHERE false"), "{none}");
        assert_eq!(lit("a'b"), "'a''b'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
