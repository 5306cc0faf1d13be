//! Phase one's test of a walked entry: does it qualify, by its name, its type or (a regular
//! file its name does not select) its first bytes, and does it rank as something that runs.

use super::rank::Class;
use super::{Run, detect, extension_of};
use crate::collectors::walk::Found;
use crate::record::{DetectedType, FileMeta};
use crate::sink::Sink;
use crate::source::{FileType, OsFamily, SourceError};
use std::io::Read;

/// How a walked entry qualifies, before its window is checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Selected {
    pub by_ext: bool,
    pub by_content: bool,
    pub class: Class,
}

impl Run<'_, '_> {
    pub(super) fn by_ext(&self, ext: Option<&str>) -> bool {
        ext.is_some_and(|e| {
            self.opts
                .extensions
                .iter()
                .any(|x| x.eq_ignore_ascii_case(e))
        })
    }

    /// An execute bit, where modes mean something (not on Windows evidence, whose modes are
    /// the analyst's mount's).
    pub(super) fn executable(&self, m: &FileMeta) -> bool {
        m.file_type == FileType::Regular
            && self.ctx.fs.os() != OsFamily::Windows
            && m.mode.is_some_and(|m| m & 0o111 != 0)
    }

    /// Whether an entry qualifies by its name, its type, or (a regular file its name does not
    /// select) its first bytes, which are read here.
    pub(super) fn classify(&self, f: &Found, out: &mut dyn Sink) -> Option<Selected> {
        let ext = extension_of(&f.name);
        let by_ext = self.by_ext(ext.as_deref());
        let class = |runnable: bool| {
            if runnable {
                Class::Runnable
            } else {
                Class::Other
            }
        };
        let sel = |by_content, runnable| {
            Some(Selected {
                by_ext,
                by_content,
                class: class(runnable),
            })
        };
        match f.meta.file_type {
            FileType::Regular => {}
            FileType::Symlink | FileType::Socket if by_ext => return sel(false, false),
            FileType::Fifo | FileType::CharDevice | FileType::BlockDevice => {
                return sel(false, true);
            }
            _ => return None,
        }
        let exec = self.executable(&f.meta);
        if by_ext {
            let typed = ext.as_deref().and_then(detect::type_for_extension);
            return sel(false, exec || typed.is_some_and(detect::is_runnable));
        }
        // Too short to hold any magic (`#!` and `MZ` are the shortest): not opened at all,
        // so its access time is not touched for nothing.
        if f.meta.size < 2 {
            return None;
        }
        let kind = self.magic(f, out)?;
        sel(true, exec || detect::is_runnable(kind))
    }

    /// The type the first bytes of a regular file say, if any.
    fn magic(&self, f: &Found, out: &mut dyn Sink) -> Option<DetectedType> {
        let shown = || self.ctx.fs.display_path(&f.path);
        let mut opened = match self.ctx.fs.open(&f.path) {
            Ok(o) => o,
            Err(e) => {
                if e.is_not_found() {
                    out.warn(format!("{}: deleted during the walk", shown()));
                } else if matches!(e, SourceError::NotRegular { .. }) {
                    out.warn(format!("{}: replaced during the walk: {e}", shown()));
                } else {
                    out.error(format!("{}: {e}", shown()));
                }
                return None;
            }
        };
        let mut head = Vec::with_capacity(detect::MAGIC_LEN as usize);
        if let Err(e) = (&mut opened.file)
            .take(detect::MAGIC_LEN)
            .read_to_end(&mut head)
        {
            out.error(format!("{}: read error: {e}", shown()));
            return None;
        }
        detect::sniff(&head).map(|(k, _)| k)
    }
}
