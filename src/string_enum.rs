//! One JSON type per field: enums of named values with a catch-all variant (`Other(String)`
//! for text irsnap does not know, `Other(u32)` for an unknown code) go out as one plain
//! string, never as `"low"` on one line and `{"other": "x"}` on the next. An Elastic dynamic
//! mapping, DuckDB's `read_json_auto` and a jq filter all need a field to keep its type.
//!
//! A leaf: serde and schemars only.

/// Serialize, Deserialize and JsonSchema for `$ty`: each listed variant as its name, the
/// catch-all `String` variant as its text, the catch-all `u32` variant as `0x` and eight hex
/// digits (codes here are HRESULTs and flags). Reading back, an unknown name lands in the
/// catch-all, so a newer irsnap's values never make an older one refuse a record.
macro_rules! string_enum {
    ($ty:ident { $($var:ident = $name:literal),+ $(,)? } else $other:ident(String)) => {
        impl $ty {
            /// The value as it is serialized.
            pub fn as_text(&self) -> &str {
                match self {
                    $($ty::$var => $name,)+
                    $ty::$other(s) => s,
                }
            }
        }
        impl $ty {
            fn from_text_or_other(s: String) -> $ty {
                match s.as_str() {
                    $($name => $ty::$var,)+
                    _ => $ty::$other(s),
                }
            }
        }
        $crate::string_enum::string_enum!(@impls $ty, [$($name),+], "other text as written");
    };
    ($ty:ident { $($var:ident = $name:literal),+ $(,)? } else $other:ident(u32)) => {
        impl $ty {
            /// The value as it is serialized.
            pub fn as_text(&self) -> std::borrow::Cow<'static, str> {
                match self {
                    $($ty::$var => std::borrow::Cow::Borrowed($name),)+
                    $ty::$other(n) => std::borrow::Cow::Owned(format!("0x{n:08x}")),
                }
            }
        }
        impl $ty {
            fn from_text_or_other(s: String) -> $ty {
                match s.as_str() {
                    $($name => $ty::$var,)+
                    other => other
                        .strip_prefix("0x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| other.parse().ok())
                        .map($ty::$other)
                        .unwrap_or($ty::$other(u32::MAX)),
                }
            }
        }
        $crate::string_enum::string_enum!(@impls $ty, [$($name),+], "or an unknown code as 0x and 8 hex digits");
    };
    (@impls $ty:ident, [$($name:literal),+], $rest:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.as_text())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                $crate::string_enum::wire_text(v)
                    .map($ty::from_text_or_other)
                    .ok_or_else(|| serde::de::Error::custom(concat!("not a ", stringify!($ty))))
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let known: &[&str] = &[$($name),+];
                schemars::json_schema!({
                    "type": "string",
                    "description": format!("One of: {}; {}.", known.join(", "), $rest),
                    "examples": known,
                })
            }
        }
    };
}

pub(crate) use string_enum;

/// The text of a value as this irsnap writes it (a string), or as archives from before it
/// did (`{"other": "x"}`, `{"other": 4660}`), so that `hunt` still reads old archives.
pub(crate) fn wire_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Object(m) if m.len() == 1 => match m.into_iter().next()?.1 {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => n.as_u64().map(|n| format!("0x{n:08x}")),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::parsers::exec_events::IntegrityLevel;
    use crate::parsers::task_job::JobStatus;

    #[test]
    fn one_string_out_and_old_shapes_in() {
        let j = |v: &IntegrityLevel| serde_json::to_string(v).unwrap();
        assert_eq!(j(&IntegrityLevel::High), "\"high\"");
        assert_eq!(j(&IntegrityLevel::Other("S-1-16-1".into())), "\"S-1-16-1\"");
        let back: IntegrityLevel = serde_json::from_str("\"medium_plus\"").unwrap();
        assert_eq!(back, IntegrityLevel::MediumPlus);
        let old: IntegrityLevel = serde_json::from_str("{\"other\":\"x\"}").unwrap();
        assert_eq!(old, IntegrityLevel::Other("x".into()));
        assert!(serde_json::from_str::<IntegrityLevel>("[1]").is_err());
        let code = serde_json::to_string(&JobStatus::Other(0x8004_1309)).unwrap();
        assert_eq!(code, "\"0x80041309\"");
        assert_eq!(
            serde_json::from_str::<JobStatus>(&code).unwrap(),
            JobStatus::Other(0x8004_1309)
        );
        let old: JobStatus = serde_json::from_str("{\"other\":4660}").unwrap();
        assert_eq!(old, JobStatus::Other(4660));
        assert_eq!(
            serde_json::from_str::<JobStatus>("\"ready\"").unwrap(),
            JobStatus::Ready
        );
    }
}
