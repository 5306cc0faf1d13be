//! The element walker: which context a child element opens, and where its text goes.
//!
//! Each child module fills one part of the task (`definition`, `principal`, `settings`,
//! `triggers`, `actions`): the leaf names it accepts and the `Parser` methods that store them.
//! The types they fill live outside the walker (`task_xml/<part>.rs`), so the types never
//! depend on the walker and the walker's helpers are written once, here.

mod actions;
mod definition;
mod principal;
mod settings;
mod triggers;

use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::text::entities;

use super::{
    MAX_TRACKED_DEPTH, MAX_WARNINGS, TaskAction, TaskDefinition, TaskXmlError, TextEncoding, clip,
    is_xml_ws,
};
use definition::REG_LEAVES;
use principal::PRINCIPAL_LEAVES;
use settings::{IDLE_LEAVES, RESTART_LEAVES};
use triggers::REPETITION_LEAVES;

/// Where we are in the document; decides what a child element means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Task,
    RegInfo,
    Principals,
    Principal,
    RequiredPrivileges,
    Settings,
    IdleSettings,
    RestartOnFailure,
    Triggers,
    Trigger,
    Repetition,
    Schedule,
    DaysOfWeek,
    Months,
    DaysOfMonth,
    Weeks,
    Actions,
    Action,
    Attachments,
    /// Element whose text we want; the `&'static str` is the canonical element name.
    Leaf(&'static str),
    /// Known element we deliberately skip, or anything below an unknown element.
    Ignored,
}

/// Maps a child's local name to a canonical static name if it is one of `names`.
pub(super) fn known(name: &str, names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|n| *n == name)
}

pub(super) struct Parser {
    pub(super) task: TaskDefinition,
    /// Context stack for tracked depths; beyond `MAX_TRACKED_DEPTH` only `overflow` counts.
    stack: Vec<Ctx>,
    overflow: usize,
    /// Names of open elements (parallel to `stack`), for error messages.
    names: Vec<String>,
    text: String,
    root_seen: bool,
    root_closed: bool,
    suppressed_warnings: usize,
    depth_warned: bool,
}

impl Parser {
    pub(super) fn new(task: TaskDefinition) -> Parser {
        Parser {
            task,
            stack: Vec::new(),
            overflow: 0,
            names: Vec::new(),
            text: String::new(),
            root_seen: false,
            root_closed: false,
            suppressed_warnings: 0,
            depth_warned: false,
        }
    }

    /// Walks the decoded document to its end; a truncated or malformed document is an error
    /// that carries what was parsed before it.
    pub(super) fn run(
        mut self,
        text: &str,
        enc_kind: TextEncoding,
    ) -> Result<TaskDefinition, TaskXmlError> {
        let mut reader = Reader::from_str(text);
        let mut stray_text_warned = false;
        loop {
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(err) => {
                    let position = reader.error_position();
                    return Err(self.read_error(err, position, enc_kind));
                }
            };
            match event {
                Event::Start(e) => self.start(&e)?,
                Event::Empty(e) => {
                    self.start(&e)?;
                    self.end();
                }
                Event::End(_) => self.end(),
                Event::Text(t) => {
                    let s = t.xml10_content();
                    if !self.root_seen || self.root_closed {
                        if !stray_text_warned && !s.trim_matches(is_xml_ws).is_empty() {
                            stray_text_warned = true;
                            let where_ = if self.root_seen { "after" } else { "before" };
                            self.warn(format!("text {where_} the root element: {:?}", clip(&s)));
                        }
                    } else {
                        self.append_text(&s);
                    }
                }
                Event::CData(c) => {
                    let s = c.xml10_content();
                    self.append_text(&s);
                }
                Event::GeneralRef(r) => self.general_ref(&r),
                Event::DocType(d) => {
                    let has_entities = d.contains("ENTITY");
                    self.warn(format!(
                        "<!DOCTYPE> present{}; internal subset not processed",
                        if has_entities {
                            " with ENTITY declarations"
                        } else {
                            ""
                        }
                    ));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }

        if !self.root_seen {
            return Err(TaskXmlError::NoRootElement {
                encoding: enc_kind,
                detail: "end of input before any element".to_string(),
            });
        }
        if !self.stack.is_empty() {
            let open_element = self.names.last().cloned().unwrap_or_default();
            let depth = self.depth();
            let position = reader.buffer_position();
            return Err(TaskXmlError::Truncated {
                open_element,
                depth,
                position,
                partial: Box::new(self.finish()),
            });
        }
        Ok(self.finish())
    }

    /// A reader error: truncation inside the root (with the partial task), else malformed XML.
    fn read_error(mut self, err: XmlError, position: u64, enc_kind: TextEncoding) -> TaskXmlError {
        let truncated = matches!(&err, XmlError::IllFormed(IllFormedError::MissingEndTag(_)))
            || matches!(&err, XmlError::Syntax(s) if !matches!(s, quick_xml::errors::SyntaxError::InvalidBangMarkup));
        if self.root_seen && truncated && !self.stack.is_empty() {
            let open_element = self.names.last().cloned().unwrap_or_default();
            let depth = self.depth();
            self.warn(format!("document truncated: {err}"));
            return TaskXmlError::Truncated {
                open_element,
                depth,
                position,
                partial: Box::new(self.finish()),
            };
        }
        let partial = if self.root_seen {
            Some(Box::new(self.finish()))
        } else {
            None
        };
        TaskXmlError::Malformed {
            position,
            encoding: enc_kind,
            message: err.to_string(),
            partial,
        }
    }

    /// `&...;` in text: character references and the five predefined entities are resolved;
    /// anything else is kept literally (no DTD, so no entity expansion attacks).
    fn general_ref(&mut self, r: &BytesRef<'_>) {
        if r.is_char_ref() {
            match r.resolve_char_ref() {
                Ok(Some(c)) => {
                    let mut buf = [0u8; 4];
                    self.append_text(c.encode_utf8(&mut buf));
                }
                _ => {
                    let raw = format!("&{};", &**r);
                    self.warn(format!(
                        "invalid character reference {raw:?} kept literally"
                    ));
                    self.append_text(&raw);
                }
            }
        } else if let Some(rep) = entities::predefined(r) {
            self.append_text(rep);
        } else {
            let raw = format!("&{};", clip(r));
            self.warn(format!(
                "entity reference {raw} not expanded (only predefined entities are resolved)"
            ));
            self.append_text(&raw);
        }
    }

    pub(super) fn warn(&mut self, msg: String) {
        if self.task.warnings.len() < MAX_WARNINGS {
            self.task.warnings.push(msg);
        } else {
            self.suppressed_warnings += 1;
        }
    }

    fn depth(&self) -> usize {
        self.stack.len() + self.overflow
    }

    pub(super) fn attr(&mut self, e: &BytesStart<'_>, wanted: &str) -> Option<String> {
        let mut found = None;
        let mut attrs = e.attributes();
        attrs.with_checks(false);
        for a in attrs {
            match a {
                Ok(a) => {
                    if a.key.local_name().as_ref() == wanted && found.is_none() {
                        let v = match a.normalized_value(XmlVersion::Implicit1_0) {
                            Ok(v) => v.into_owned(),
                            Err(err) => {
                                let raw = a.value.clone().into_owned();
                                self.warn(format!(
                                    "attribute {wanted} value {raw:?} not unescaped ({err}); kept raw"
                                ));
                                raw
                            }
                        };
                        found = Some(v.trim_matches(is_xml_ws).to_string());
                    }
                }
                Err(err) => {
                    self.warn(format!(
                        "bad attribute syntax on <{}>: {err}",
                        e.local_name().as_ref()
                    ));
                    break;
                }
            }
        }
        found
    }

    /// Decides the context of a new child element and creates the matching output object.
    fn child_ctx(&mut self, parent: Option<Ctx>, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        let Some(parent) = parent else {
            return Task;
        };
        match parent {
            Task => match name {
                "RegistrationInfo" => RegInfo,
                "Principals" => Principals,
                "Settings" => Settings,
                "Triggers" => Triggers,
                "Actions" => {
                    let ctx = self.attr(e, "Context");
                    if ctx.is_some() {
                        self.task.actions_context = ctx;
                    }
                    Actions
                }
                // Free-form task data, no triage value.
                "Data" => Ignored,
                _ => self.unknown(name, "Task"),
            },
            RegInfo => match known(name, REG_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "RegistrationInfo"),
            },
            Principals => self.principals_child(name, e),
            Principal => match (name, known(name, PRINCIPAL_LEAVES)) {
                ("RequiredPrivileges", _) => RequiredPrivileges,
                (_, Some(n)) => Leaf(n),
                _ => self.unknown(name, "Principal"),
            },
            RequiredPrivileges => match name {
                "Privilege" => Leaf("Privilege"),
                _ => self.unknown(name, "RequiredPrivileges"),
            },
            Settings => self.settings_child(name),
            IdleSettings => match known(name, IDLE_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "IdleSettings"),
            },
            RestartOnFailure => match known(name, RESTART_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "RestartOnFailure"),
            },
            Triggers => self.triggers_child(name, e),
            Trigger => self.trigger_child(name),
            Repetition => match known(name, REPETITION_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "Repetition"),
            },
            Schedule => self.schedule_child(name),
            DaysOfWeek | Months => self.day_or_month_child(parent, name),
            DaysOfMonth => match name {
                "Day" => Leaf("Day"),
                _ => self.unknown(name, "DaysOfMonth"),
            },
            Weeks => match name {
                "Week" => Leaf("Week"),
                _ => self.unknown(name, "Weeks"),
            },
            Actions => self.actions_child(name, e),
            Action => self.action_child(name),
            Attachments => match name {
                "File" => Leaf("File"),
                _ => self.unknown(name, "Attachments"),
            },
            Leaf(leaf) => {
                let msg = format!("unexpected child element <{name}> inside <{leaf}>; ignored");
                self.warn(msg);
                Ignored
            }
            Ignored => Ignored,
        }
    }

    pub(super) fn unknown(&mut self, name: &str, parent: &str) -> Ctx {
        self.warn(format!("unknown element <{name}> in <{parent}>; ignored"));
        Ctx::Ignored
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), TaskXmlError> {
        let local = e.local_name();
        let name: &str = local.as_ref();
        if self.root_closed {
            let msg = format!("element <{name}> after the closing </Task>; ignored");
            self.warn(msg);
            self.overflow += 1;
            return Ok(());
        }
        if !self.root_seen {
            if name != "Task" {
                return Err(TaskXmlError::NotATask {
                    found: name.chars().take(128).collect(),
                });
            }
            self.root_seen = true;
            self.task.version = self.attr(e, "version");
        }
        if self.stack.len() >= MAX_TRACKED_DEPTH || self.overflow > 0 {
            if !self.depth_warned {
                self.depth_warned = true;
                self.warn(format!(
                    "elements nested deeper than {MAX_TRACKED_DEPTH} levels; their content is ignored"
                ));
            }
            self.overflow += 1;
            return Ok(());
        }
        let parent = self.stack.last().copied();
        let ctx = self.child_ctx(parent, name, e);
        if matches!(ctx, Ctx::Leaf(_)) {
            self.text.clear();
        }
        self.stack.push(ctx);
        self.names.push(name.chars().take(128).collect());
        Ok(())
    }

    fn end(&mut self) {
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        let Some(ctx) = self.stack.pop() else {
            return;
        };
        self.names.pop();
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        if let Ctx::Leaf(leaf) = ctx {
            let value = std::mem::take(&mut self.text);
            let value = value.trim_matches(is_xml_ws).to_string();
            let parent = self.stack.last().copied();
            self.assign(parent, leaf, value);
        }
    }

    fn append_text(&mut self, s: &str) {
        if self.overflow == 0 && matches!(self.stack.last(), Some(Ctx::Leaf(_))) {
            self.text.push_str(s);
        }
    }

    pub(super) fn bool_value(&mut self, field: &str, v: &str) -> Option<bool> {
        match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.warn(format!("<{field}> has non-boolean value {:?}", clip(v)));
                None
            }
        }
    }

    pub(super) fn u32_value(&mut self, field: &str, v: &str) -> Option<u32> {
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(format!("<{field}> has non-numeric value {:?}", clip(v)));
                None
            }
        }
    }

    /// Stores a leaf value; first occurrence wins, later duplicates are reported.
    pub(super) fn set_str(
        warnings: &mut Vec<String>,
        slot: &mut Option<String>,
        field: &str,
        v: String,
    ) {
        if let Some(old) = slot {
            if warnings.len() < MAX_WARNINGS {
                warnings.push(format!(
                    "duplicate <{field}>: kept {:?}, ignored {:?}",
                    clip(old),
                    clip(&v)
                ));
            }
        } else {
            *slot = Some(v);
        }
    }

    fn assign(&mut self, parent: Option<Ctx>, leaf: &'static str, v: String) {
        let Some(parent) = parent else { return };
        match parent {
            Ctx::RegInfo => self.assign_reg(leaf, v),
            Ctx::Principal => self.assign_principal(leaf, v),
            Ctx::RequiredPrivileges => {
                if let Some(p) = self.task.principals.last_mut() {
                    p.required_privileges.push(v);
                }
            }
            Ctx::Settings => self.assign_settings(leaf, v),
            Ctx::IdleSettings => self.assign_idle(leaf, v),
            Ctx::RestartOnFailure => self.assign_restart(leaf, v),
            Ctx::Trigger => self.assign_trigger(leaf, v),
            Ctx::Repetition => self.assign_repetition(leaf, v),
            Ctx::Schedule => self.assign_schedule(leaf, v),
            Ctx::DaysOfMonth => self.assign_day_of_month(v),
            Ctx::Weeks => self.assign_week(v),
            Ctx::Action => self.assign_action(leaf, v),
            Ctx::Attachments => self.assign_attachment(v),
            _ => {}
        }
    }

    /// Final checks once the document is complete.
    fn finish(mut self) -> TaskDefinition {
        let mut missing = Vec::new();
        for (i, a) in self.task.actions.iter().enumerate() {
            match a {
                TaskAction::Exec { command, .. } if command.is_empty() => {
                    missing.push(format!("Exec action #{i} has no <Command>"))
                }
                TaskAction::ComHandler { class_id, .. } if class_id.is_empty() => {
                    missing.push(format!("ComHandler action #{i} has no <ClassId>"))
                }
                _ => {}
            }
        }
        for m in missing {
            self.warn(m);
        }
        if self.suppressed_warnings > 0 {
            let n = self.suppressed_warnings;
            self.task
                .warnings
                .push(format!("{n} further warnings suppressed"));
        }
        self.task
    }
}
