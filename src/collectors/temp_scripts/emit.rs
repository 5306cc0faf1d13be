//! Phase two: one kept candidate, collected. A regular file is opened (again), identified
//! from its first 4 KiB, hashed whole and copied within the budgets; a special file is
//! `lstat`ed and recorded, never opened; a tree's summary is written as it is.

use super::rank::{Candidate, What};
use super::{Run, detect, extension_of, selection};
use crate::collectors::CollectError;
use crate::record::{DetectedType, FileMeta, Record, TempFileRecord};
use crate::sink::{FileRequest, Sink, StagedScript};
use crate::source::{FileType, SourceError};
use std::io::Read;

impl Run<'_, '_> {
    pub(super) fn collect_one(
        &mut self,
        c: Candidate,
        out: &mut dyn Sink,
    ) -> Result<(), CollectError> {
        match c.what {
            What::Tree(rec) => out.record(Record::TempFile(*rec))?,
            What::Special {
                file_type,
                by_ext,
                out_of_place,
            } => self.special(&c, file_type, by_ext, out_of_place, out)?,
            What::Regular {
                by_ext,
                by_content,
                out_of_place,
            } => self.regular(&c, by_ext, by_content, out_of_place, out)?,
        }
        Ok(())
    }

    fn record_for(&self, c: &Candidate, meta: Option<&FileMeta>) -> TempFileRecord {
        let ext = c.path.file_name().and_then(extension_of);
        self.base_record(
            &c.path,
            c.place as usize,
            usize::from(c.depth),
            ext,
            c.recent.fields(),
            meta,
        )
    }

    /// A symlink, socket, FIFO or device node: its metadata now, never its content.
    fn special(
        &mut self,
        c: &Candidate,
        file_type: FileType,
        by_ext: bool,
        out_of_place: bool,
        out: &mut dyn Sink,
    ) -> Result<(), CollectError> {
        let meta = match self.ctx.fs.metadata(&c.path) {
            Ok(m) => Some(m),
            Err(e) => {
                out.warn(format!(
                    "{}: gone since the walk: {e}",
                    self.ctx.fs.display_path(&c.path)
                ));
                None
            }
        };
        let mut rec = self.record_for(c, meta.as_ref());
        if meta.is_none() {
            rec.file_type = file_type;
            rec.error = Some("gone since the walk".into());
        }
        let by_type = matches!(
            file_type,
            FileType::Fifo | FileType::CharDevice | FileType::BlockDevice
        );
        rec.detected_type = match file_type {
            FileType::Symlink => DetectedType::Symlink,
            FileType::Socket => DetectedType::Socket,
            FileType::Fifo => DetectedType::Fifo,
            _ => DetectedType::Device,
        };
        rec.selected_by = selection(by_ext, false, by_type, out_of_place);
        if rec.detected_type == DetectedType::Symlink {
            rec.link_target = match self.ctx.fs.read_link(&c.path) {
                Ok(t) => Some(t.to_string_lossy().into_owned()),
                Err(e) => {
                    out.warn(format!("{}: {e}", rec.path));
                    None
                }
            };
        }
        rec.not_copied_reason = Some("not a regular file; never opened".into());
        out.record(Record::TempFile(rec))?;
        Ok(())
    }

    fn regular(
        &mut self,
        c: &Candidate,
        by_ext: bool,
        by_content: bool,
        out_of_place: bool,
        out: &mut dyn Sink,
    ) -> Result<(), CollectError> {
        let source = self.ctx.fs;
        let ext = c.path.file_name().and_then(extension_of);
        let by_name = by_ext || out_of_place;
        let mut opened = match source.open(&c.path) {
            Ok(o) => o,
            Err(e) => {
                let shown = source.display_path(&c.path);
                if e.is_not_found() {
                    out.warn(format!("{shown}: deleted during the walk"));
                } else if matches!(e, SourceError::NotRegular { .. }) {
                    out.warn(format!("{shown}: replaced during the walk: {e}"));
                } else {
                    out.error(format!("{shown}: {e}"));
                }
                // Selected by its name or its place: the record stands, without content.
                if by_name {
                    let meta = source.metadata(&c.path).ok();
                    let mut rec = self.record_for(c, meta.as_ref());
                    rec.file_type = FileType::Regular;
                    rec.detected_type = ext
                        .as_deref()
                        .and_then(detect::type_for_extension)
                        .unwrap_or(DetectedType::Unknown);
                    rec.selected_by = selection(by_ext, false, false, out_of_place);
                    rec.error = Some(e.to_string());
                    rec.not_copied_reason = Some("could not be opened".into());
                    out.record(Record::TempFile(rec))?;
                }
                return Ok(());
            }
        };
        let mut rec = self.record_for(c, Some(&opened.meta));
        let mut head = Vec::with_capacity(detect::HEAD_LEN as usize);
        if let Err(e) = (&mut opened.file)
            .take(detect::HEAD_LEN)
            .read_to_end(&mut head)
        {
            out.error(format!("{}: read error: {e}", rec.path));
            rec.error = Some(format!("read error: {e}"));
        }
        let sniffed = detect::sniff(&head);
        if sniffed.is_none() && !by_name && rec.error.is_none() {
            // Its first bytes selected it during the walk and no longer do.
            if by_content {
                out.warn(format!(
                    "{}: content changed since the walk; no longer a script or executable",
                    rec.path
                ));
            }
            return Ok(());
        }
        // A read error leaves the walk's reading of the first bytes as the reason.
        let by_content = sniffed.is_some() || (by_content && rec.error.is_some());
        rec.selected_by = selection(by_ext, by_content, false, out_of_place);
        let (kind, interpreter) = match sniffed {
            Some((k, i)) => (k, i),
            None => (
                ext.as_deref()
                    .and_then(detect::type_for_extension)
                    .unwrap_or(DetectedType::Unknown),
                None,
            ),
        };
        rec.detected_type = kind;
        rec.interpreter = interpreter;
        if detect::is_script(kind) {
            rec.first_line = detect::first_line(&head);
        }
        if rec.error.is_some() {
            out.record(Record::TempFile(rec))?;
            return Ok(());
        }

        let budget = self.opts.max_total_copy.0.saturating_sub(self.copied_total);
        let copy = budget > 0;
        // Scripts' first bytes go to detection, within the per-file and per-run caps.
        let scan = if detect::is_script(kind) {
            let left = self
                .opts
                .max_scan_bytes
                .0
                .saturating_sub(self.scanned_bytes);
            let want = self.opts.scan_bytes_per_file.0.min(opened.meta.size);
            if want > left {
                self.not_scanned += 1;
                0
            } else {
                want as usize
            }
        } else {
            0
        };
        let req = FileRequest {
            display: rec.path.clone(),
            logical: &c.path,
            meta: &opened.meta,
            copy,
            copy_cap: self.opts.max_file_copy.0.min(budget),
            keep: scan,
            member_name: None,
            keep_tail: false,
        };
        let mut reader = std::io::Cursor::new(head).chain(&mut opened.file);
        let mut o = out.file(&req, &mut reader)?;
        let kept = std::mem::take(&mut o.kept);
        self.scanned_bytes += kept.len() as u64;
        self.copied_total = self.copied_total.saturating_add(o.copied);
        rec.sha256 = o.sha256;
        rec.bytes_hashed = o.bytes_read;
        rec.archive_member = o.member;
        rec.copied = rec.archive_member.is_some();
        rec.copied_bytes = o.copied;
        rec.truncated = o.truncated;
        if !copy {
            self.not_copied += 1;
            rec.not_copied_reason = Some("total copy budget spent".into());
        } else if let Some(why) = o.copy_skipped {
            // The archive-wide budget (profile cap or output volume) stopped this copy.
            rec.not_copied_reason = Some(why);
        }
        if let Some(e) = o.read_error {
            rec.error = Some(e);
        } else if o.bytes_read != opened.meta.size {
            let msg = format!(
                "size changed while reading: {} bytes at open, {} read",
                opened.meta.size, o.bytes_read
            );
            out.warn(format!("{}: {msg}", rec.path));
            rec.error = Some(msg);
        }
        let (path, member, sha256) = (rec.path.clone(), rec.archive_member.clone(), rec.sha256);
        out.record(Record::TempFile(rec))?;
        if !kept.is_empty() {
            let text = script_text(&kept);
            out.staged_script(StagedScript {
                path: &path,
                member: member.as_deref(),
                sha256,
                text: &text,
            });
        }
        Ok(())
    }
}

/// A script's first bytes as text: UTF-16LE when they look like it (PowerShell ISE and
/// `Out-File` write it), UTF-8 otherwise, invalid bytes replaced.
pub(crate) fn script_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE])
        && let Some(t) = crate::text::utf16::decode_le_lossy(rest)
    {
        return t;
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if crate::text::utf16::looks_utf16le(bytes)
        && let Some(t) = crate::text::utf16::decode_le_lossy(bytes)
    {
        return t;
    }
    String::from_utf8_lossy(bytes).into_owned()
}
