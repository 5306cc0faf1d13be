//! Reading a record rendered to XML by the `evtx` crate back into a [`RawEvent`].

use super::event::Rendered;
use super::{EventData, RawEvent};
use crate::text::entities;

/// Nesting limit when reading a rendered record back.
const MAX_XML_DEPTH: usize = 128;

/// FILETIME 0 renders as 1601-01-01T00:00:00Z; it means "no time", not a date.
pub(super) fn is_zero_filetime(t: &chrono::DateTime<chrono::Utc>) -> bool {
    t.timestamp() == -11_644_473_600 && t.timestamp_subsec_nanos() == 0
}

/// Minimal element tree of one rendered record.
#[derive(Debug, Default)]
struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Elem>,
    /// Direct text content, in order.
    text: String,
}

impl Elem {
    fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Text of this element and all descendants, in document order.
    fn deep_text(&self) -> String {
        if self.children.is_empty() {
            return self.text.clone();
        }
        let mut out = self.text.clone();
        for c in &self.children {
            out.push_str(&c.deep_text());
        }
        out
    }
}

fn local_name(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.to_string(),
    }
}

fn parse_xml(xml: &str) -> Result<Elem, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    // Values are payload (script text, command lines): keep them byte-exact, no trimming.
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    let open = |e: &quick_xml::events::BytesStart<'_>| -> Elem {
        let mut el = Elem {
            name: local_name(e.name().as_ref()),
            ..Elem::default()
        };
        for a in e.attributes().with_checks(false).flatten() {
            let key = local_name(a.key.as_ref());
            el.attrs.push((key, entities::unescape(&a.value)));
        }
        el
    };
    let close = |el: Elem, stack: &mut Vec<Elem>, root: &mut Option<Elem>| match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => {
            if root.is_none() {
                *root = Some(el);
            }
        }
    };
    loop {
        let ev = reader.read_event().map_err(|e| {
            format!(
                "rendered XML unreadable at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match ev {
            Event::Start(e) => {
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(format!("rendered XML nested deeper than {MAX_XML_DEPTH}"));
                }
                stack.push(open(&e));
            }
            Event::Empty(e) => {
                let el = open(&e);
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    close(el, &mut stack, &mut root);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => entities::predefined(&r).map(str::to_string),
                    };
                    match resolved {
                        Some(s) => top.text.push_str(&s),
                        None => {
                            // Unknown entity: keep it literally rather than lose text.
                            top.text.push('&');
                            top.text.push_str(&r);
                            top.text.push(';');
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Unclosed elements (should not happen with the crate's renderer): fold them up.
    while let Some(el) = stack.pop() {
        close(el, &mut stack, &mut root);
    }
    root.ok_or_else(|| "rendered XML has no root element".to_string())
}

fn elem_to_json(el: &Elem, depth: usize) -> serde_json::Value {
    use serde_json::{Map, Value};
    if el.attrs.is_empty() && el.children.is_empty() {
        return Value::String(el.text.clone());
    }
    let mut obj = Map::new();
    if !el.attrs.is_empty() {
        let attrs: Map<String, Value> = el
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        obj.insert("#attributes".into(), Value::Object(attrs));
    }
    if depth < MAX_XML_DEPTH {
        for c in &el.children {
            let v = elem_to_json(c, depth + 1);
            match obj.get_mut(&c.name) {
                Some(Value::Array(a)) => a.push(v),
                Some(existing) => {
                    let prev = existing.take();
                    *existing = Value::Array(vec![prev, v]);
                }
                None => {
                    obj.insert(c.name.clone(), v);
                }
            }
        }
    }
    if !el.text.trim().is_empty() {
        obj.insert("#text".into(), Value::String(el.text.clone()));
    }
    Value::Object(obj)
}

fn flatten_leaves(el: &Elem, out: &mut Vec<(String, String)>) {
    for c in &el.children {
        if c.children.is_empty() {
            out.push((c.name.clone(), c.text.clone()));
        } else {
            flatten_leaves(c, out);
        }
    }
}

pub(super) fn event_from_xml(r: &Rendered, chunk: u64) -> Result<RawEvent, String> {
    let root = parse_xml(&r.xml)?;
    let empty = Elem::default();
    let system = root.child("System").unwrap_or(&empty);
    let text_of = |name: &str| system.child(name).map(|e| e.deep_text().trim().to_string());
    let num_of = |name: &str| text_of(name).and_then(|t| parse_num(&t));

    let event_id_el = system.child("EventID");
    let event_id = event_id_el
        .and_then(|e| parse_num(e.deep_text().trim()))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let qualifiers = event_id_el
        .and_then(|e| e.attr("Qualifiers"))
        .and_then(parse_num)
        .and_then(|n| u32::try_from(n).ok());

    let system_time = system
        .child("TimeCreated")
        .and_then(|e| e.attr("SystemTime"))
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|t| !is_zero_filetime(t));
    let exec = system.child("Execution");
    let exec_attr = |name: &str| {
        exec.and_then(|e| e.attr(name))
            .and_then(parse_num)
            .and_then(|n| u32::try_from(n).ok())
    };
    let user_sid = system
        .child("Security")
        .and_then(|e| e.attr("UserID"))
        .map(str::to_string)
        .filter(|s| !s.is_empty());

    let mut data = EventData::default();
    for part in &root.children {
        match part.name.as_str() {
            "System" | "RenderingInfo" => {}
            "EventData" => {
                for c in &part.children {
                    match (c.name.as_str(), c.attr("Name")) {
                        ("Data", Some(name)) => data.named.push((name.to_string(), c.deep_text())),
                        ("Data", None) => data.unnamed.push(c.deep_text()),
                        ("Binary", _) => data.binary = Some(c.deep_text()),
                        (other, _) => data.named.push((other.to_string(), c.deep_text())),
                    }
                }
            }
            _ => {
                // UserData, or a payload element Windows uses instead of EventData
                // (ProcessingErrorData, DebugData, BinaryEventData).
                let json = if part.name == "UserData" {
                    let mut obj = serde_json::Map::new();
                    for c in &part.children {
                        obj.insert(c.name.clone(), elem_to_json(c, 1));
                    }
                    serde_json::Value::Object(obj)
                } else {
                    let mut obj = serde_json::Map::new();
                    obj.insert(part.name.clone(), elem_to_json(part, 1));
                    serde_json::Value::Object(obj)
                };
                if data.user_data.is_none() {
                    data.user_data = Some(json);
                }
                flatten_leaves(part, &mut data.user_fields);
            }
        }
    }

    Ok(RawEvent {
        record_id: r.record_id,
        time: system_time.or(r.header_time),
        time_from_header: system_time.is_none() && r.header_time.is_some(),
        event_id,
        provider: system
            .child("Provider")
            .and_then(|e| e.attr("Name"))
            .unwrap_or("")
            .to_string(),
        channel: text_of("Channel").unwrap_or_default(),
        computer: text_of("Computer").unwrap_or_default(),
        user_sid,
        process_id: exec_attr("ProcessID"),
        thread_id: exec_attr("ThreadID"),
        level: num_of("Level").and_then(|n| u8::try_from(n).ok()),
        data,
        qualifiers,
        task: num_of("Task").and_then(|n| u16::try_from(n).ok()),
        opcode: num_of("Opcode").and_then(|n| u8::try_from(n).ok()),
        keywords: text_of("Keywords").filter(|s| !s.is_empty()),
        activity_id: system
            .child("Correlation")
            .and_then(|e| e.attr("ActivityID"))
            .map(str::to_string),
        system_record_id: num_of("EventRecordID"),
        chunk,
    })
}

/// Decimal or `0x` hex.
fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}
