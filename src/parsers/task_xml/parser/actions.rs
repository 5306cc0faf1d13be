//! Filling `<Actions>`: each action and its leaves, attachments of e-mail actions.

use quick_xml::events::BytesStart;

use super::{Ctx, Parser, known};
use crate::parsers::task_xml::TaskAction;

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
