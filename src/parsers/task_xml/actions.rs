//! `<Actions>`: what a task runs (a command line, a COM handler, the deprecated e-mail and message actions).

use quick_xml::events::BytesStart;
use serde::{Deserialize, Serialize};

use super::parser::{Ctx, Parser, known};

/// One entry of `<Actions>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskAction {
    Exec {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Empty when the element was missing (recorded as a warning).
        command: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        working_directory: Option<String>,
    },
    ComHandler {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        class_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// Deprecated since Windows 8 but still parsed by the service.
    SendEmail {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bcc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
    },
    /// Deprecated since Windows 8.
    ShowMessage {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// Unknown action element, by local name.
    Other {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        element: String,
    },
}

/// The command line Task Scheduler would start for an action: `command + " " + arguments`
/// (arguments omitted when empty). Environment variables and `$(Arg0)` placeholders are left
/// unexpanded, quoting is left as written. Non-Exec actions have no command line: empty string.
pub fn exec_command_line(action: &TaskAction) -> String {
    match action {
        TaskAction::Exec {
            command, arguments, ..
        } => match arguments.as_deref() {
            Some(args) if !args.is_empty() => format!("{command} {args}"),
            _ => command.clone(),
        },
        _ => String::new(),
    }
}

const ACTION_LEAVES: &[&str] = &[
    "Command",
    "Arguments",
    "WorkingDirectory",
    "ClassId",
    "Data",
    "Server",
    "Subject",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "From",
    "Body",
    "Title",
];

impl Parser {
    pub(super) fn assign_action(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let Some(action) = self.task.actions.last_mut() else {
            return;
        };
        let misplaced = match action {
            TaskAction::Exec {
                command,
                arguments,
                working_directory,
                ..
            } => match leaf {
                "Command" => {
                    if command.is_empty() {
                        *command = v;
                    } else {
                        let mut slot = Some(command.clone());
                        Self::set_str(w, &mut slot, leaf, v);
                    }
                    false
                }
                "Arguments" => {
                    Self::set_str(w, arguments, leaf, v);
                    false
                }
                "WorkingDirectory" => {
                    Self::set_str(w, working_directory, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::ComHandler { class_id, data, .. } => match leaf {
                "ClassId" => {
                    if class_id.is_empty() {
                        *class_id = v;
                    } else {
                        let mut slot = Some(class_id.clone());
                        Self::set_str(w, &mut slot, leaf, v);
                    }
                    false
                }
                "Data" => {
                    Self::set_str(w, data, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::SendEmail {
                server,
                from,
                to,
                cc,
                bcc,
                reply_to,
                subject,
                body,
                ..
            } => {
                let slot = match leaf {
                    "Server" => Some(server),
                    "From" => Some(from),
                    "To" => Some(to),
                    "Cc" => Some(cc),
                    "Bcc" => Some(bcc),
                    "ReplyTo" => Some(reply_to),
                    "Subject" => Some(subject),
                    "Body" => Some(body),
                    _ => None,
                };
                match slot {
                    Some(slot) => {
                        Self::set_str(w, slot, leaf, v);
                        false
                    }
                    None => true,
                }
            }
            TaskAction::ShowMessage { title, body, .. } => match leaf {
                "Title" => {
                    Self::set_str(w, title, leaf, v);
                    false
                }
                "Body" => {
                    Self::set_str(w, body, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::Other { .. } => false,
        };
        if misplaced {
            self.warn(format!(
                "element <{leaf}> does not belong to this action type; ignored"
            ));
        }
    }
}

impl Parser {
    /// `<Actions>`: every child is an action, known or not.
    pub(super) fn actions_child(&mut self, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        let id = self.attr(e, "id");
        let action = match name {
            "Exec" => TaskAction::Exec {
                id,
                command: String::new(),
                arguments: None,
                working_directory: None,
            },
            "ComHandler" => TaskAction::ComHandler {
                id,
                class_id: String::new(),
                data: None,
            },
            "SendEmail" => TaskAction::SendEmail {
                id,
                server: None,
                from: None,
                to: None,
                cc: None,
                bcc: None,
                reply_to: None,
                subject: None,
                body: None,
                attachments: Vec::new(),
            },
            "ShowMessage" => TaskAction::ShowMessage {
                id,
                title: None,
                body: None,
            },
            other => {
                let msg = format!("unknown action element <{other}>");
                self.warn(msg);
                TaskAction::Other {
                    id,
                    element: other.to_string(),
                }
            }
        };
        self.task.actions.push(action);
        Action
    }

    /// An action's children.
    pub(super) fn action_child(&mut self, name: &str) -> Ctx {
        use Ctx::*;
        match name {
            "Attachments" => Attachments,
            // Custom SMTP headers: no triage value.
            "HeaderFields" => Ignored,
            _ => match known(name, ACTION_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "action"),
            },
        }
    }

    /// A `<File>` of a SendEmail action's `<Attachments>`.
    pub(super) fn assign_attachment(&mut self, v: String) {
        if let Some(TaskAction::SendEmail { attachments, .. }) = self.task.actions.last_mut() {
            attachments.push(v);
        }
    }
}
