//! Planning one file's edit from its bytes: which bytes each reference cut removes (and the
//! white space left in their place, [`scan::cut`]), how the manifest keeps them (inline text,
//! base64, a blob, or rebuilt from an inline map), the text `--debug-ids` and the hash fixes put
//! in, the file's hashes before and after, and whether the change fits in its tail
//! ([`TAIL_MAX`], [`OLD_TAIL_MAX`]) so it can be made in place.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::findings::RewriteKind;
use crate::hash::{self, hex_digest};
use crate::meta::Meta;
use crate::scan::{self, datauri};
use crate::splice::Splice;
use crate::txn::{OLD_TAIL_MAX, TAIL_MAX};
use crate::vault::journal::How;
use crate::vault::manifest::Bytes;

/// Removed bytes up to this size are kept in the manifest itself; larger ones go to `blobs/`.
pub(crate) const INLINE_TEXT_MAX: usize = 4096;

/// An inline map found in a reference: its decoded bytes' hash and size.
#[derive(Debug, Clone)]
pub(crate) struct InlineSeen {
    pub sha: String,
    pub size: u64,
}

/// One reference to cut (or, with `rewrite` set, text to put in to keep the dist consistent).
#[derive(Debug, Clone)]
pub(crate) struct Cut {
    /// The bytes replaced and the text put in their place (empty for a plain cut).
    pub splice: Splice,
    pub form: scan::Form,
    pub line: u64,
    pub url: Vec<u8>,
    pub url_offset: u64,
    /// The URL's length in the file (`url` is its text: decoded in a UTF-16 file).
    pub url_len: u64,
    pub removed_sha: String,
    pub removed: Bytes,
    /// Needs `blobs/<removed_sha>` (too large for the manifest).
    pub blob: bool,
    pub inline: Option<Result<InlineSeen, String>>,
    /// Set for an insertion made to keep the dist consistent (a debug ID, a recomputed hash).
    pub rewrite: Option<RewriteKind>,
    /// The inserted text is the reference's fill: white space that keeps the code around the
    /// cut meaning the same ([`scan::cut`]).
    pub filled: bool,
}

impl Cut {
    /// The removed bytes as text for a report (`…` when they are not kept as text).
    pub fn removed_text(&self) -> String {
        match &self.removed {
            Bytes::Text(t) => t.clone(),
            _ => String::from("…"),
        }
    }

    /// A pure insertion or replacement made to keep the dist consistent.
    fn rewrite(buf: &[u8], splice: Splice, kind: RewriteKind) -> Cut {
        let old = &buf[splice.offset as usize..splice.end() as usize];
        Cut {
            form: scan::Form::LineComment,
            line: 0,
            url: Vec::new(),
            url_offset: splice.offset,
            url_len: 0,
            removed_sha: hash::sha256_hex(old),
            removed: Bytes::Text(String::from_utf8_lossy(old).into_owned()),
            blob: false,
            inline: None,
            rewrite: Some(kind),
            filled: false,
            splice,
        }
    }
}

/// What `seal --debug-ids` and the hash fixes add to a file's edit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    /// Replace the last reference (a `//` comment near the end) with this text.
    pub replace_last: Option<String>,
    /// Append this text after the last byte.
    pub append: Option<String>,
    /// Replacements (recomputed hashes); never overlapping a reference.
    pub rewrites: Vec<(Splice, RewriteKind)>,
}

/// A planned edit of one file.
#[derive(Debug, Clone)]
pub(crate) struct EditSeen {
    pub original_sha: String,
    pub sealed_sha: String,
    pub sealed_size: u64,
    pub cuts: Vec<Cut>,
    /// The in-place change, when the edit is near enough the end ([`TAIL_MAX`], [`OLD_TAIL_MAX`]).
    pub tail: Option<How>,
}

impl EditSeen {
    /// The splices of every cut, in order.
    pub fn splices(&self) -> Vec<Splice> {
        self.cuts.iter().map(|c| c.splice.clone()).collect()
    }

    /// The file's bytes once sealed, from its original `bytes`.
    pub fn sealed(&self, bytes: &[u8]) -> Vec<u8> {
        crate::splice::apply(bytes, &self.splices())
    }
}

/// The cut of one reference: the removed bytes and how they are kept.
fn reference_cut(buf: &[u8], r: &scan::Reference) -> Cut {
    let removed = &buf[r.span.clone()];
    let raw_url = &buf[r.url.clone()];
    // In a UTF-16 file the URL is read as text (an inline map is extracted like any other).
    let url = scan::encoding::url_text(buf, raw_url).into_owned();
    let removed_sha = hash::sha256_hex(removed);
    let mut stored: Option<Bytes> = None;
    let inline = datauri::is_data_uri(&url).then(|| match datauri::decode(&url) {
        Ok(d) => {
            let sha = hash::sha256_hex(&d.data);
            // An exactly re-encodable comment is rebuilt from the vaulted map at unseal.
            if let Some(p) = datauri::canonical_prefix(&url, &d.data).filter(|_| url == raw_url) {
                let prefix_len = r.url.start - r.span.start + p;
                if prefix_len + (url.len() - p) == removed.len()
                    && let Ok(prefix) = std::str::from_utf8(&removed[..prefix_len])
                {
                    stored = Some(Bytes::InlineMap {
                        map: sha.clone(),
                        prefix: prefix.to_owned(),
                    });
                }
            }
            Ok(InlineSeen {
                sha,
                size: d.data.len() as u64,
            })
        }
        Err(e) => Err(e.to_string()),
    });
    let mut blob = false;
    let removed_bytes = stored.unwrap_or_else(|| {
        if removed.len() <= INLINE_TEXT_MAX {
            match std::str::from_utf8(removed) {
                Ok(t) => Bytes::Text(t.to_owned()),
                Err(_) => Bytes::Base64(B64.encode(removed)),
            }
        } else {
            blob = true;
            Bytes::Blob(removed_sha.clone())
        }
    });
    Cut {
        // The fill keeps the grammar: a cut comment leaves the white space the code needs.
        splice: Splice {
            offset: r.span.start as u64,
            len: (r.span.end - r.span.start) as u64,
            insert: r.fill.clone(),
        },
        filled: !r.fill.is_empty(),
        form: r.form,
        line: r.line,
        url,
        url_offset: r.url.start as u64,
        url_len: raw_url.len() as u64,
        removed_sha,
        removed: removed_bytes,
        blob,
        inline,
        rewrite: None,
    }
}

/// Work out the cuts for one file's references, how each removed span is stored, the hashes of
/// the file before and after, and whether the edit fits in the tail.
pub(crate) fn plan_edit(
    buf: &[u8],
    refs: &[scan::Reference],
    meta: &Meta,
    extra: &Extra,
) -> EditSeen {
    let mut cuts: Vec<Cut> = refs.iter().map(|r| reference_cut(buf, r)).collect();
    if let (Some(t), Some(last)) = (&extra.replace_last, cuts.last_mut()) {
        last.splice.insert.clone_from(t);
        last.filled = false;
    }
    for (splice, kind) in &extra.rewrites {
        cuts.push(Cut::rewrite(buf, splice.clone(), *kind));
    }
    cuts.sort_by_key(|c| c.splice.offset);
    if let Some(t) = &extra.append {
        let kind = if t.contains("_sentryDebugIds") {
            RewriteKind::DebugIdSnippet
        } else {
            RewriteKind::DebugId
        };
        let end = buf.len() as u64;
        let splice = Splice {
            offset: end,
            len: 0,
            insert: t.clone(),
        };
        cuts.push(Cut::rewrite(buf, splice, kind));
    }
    hashed(buf, cuts, meta)
}

/// Hash the file before and after the cuts (the untouched prefix once, then forked), and spell
/// out the new tail when the edit can be made in place.
fn hashed(buf: &[u8], cuts: Vec<Cut>, meta: &Meta) -> EditSeen {
    let start = cuts.first().map_or(0, |c| c.splice.offset) as usize;
    let mut h = Sha256::new();
    h.update(&buf[..start]);
    let prefix_sha = hex_digest(h.clone());
    let mut orig = h.clone();
    orig.update(&buf[start..]);
    let mut sealed = h;
    let mut sealed_tail = Vec::new();
    let mut pos = start;
    let removed_total: u64 = cuts.iter().map(|c| c.splice.len).sum();
    let inserted_total: u64 = cuts.iter().map(|c| c.splice.insert.len() as u64).sum();
    let old_tail = (buf.len() - start) as u64;
    let in_tail = old_tail <= OLD_TAIL_MAX && old_tail - removed_total + inserted_total <= TAIL_MAX;
    for c in &cuts {
        let (o, e) = (c.splice.offset as usize, c.splice.end() as usize);
        sealed.update(&buf[pos..o]);
        sealed.update(c.splice.insert.as_bytes());
        if in_tail {
            sealed_tail.extend_from_slice(&buf[pos..o]);
            sealed_tail.extend_from_slice(c.splice.insert.as_bytes());
        }
        pos = e;
    }
    sealed.update(&buf[pos..]);
    if in_tail {
        sealed_tail.extend_from_slice(&buf[pos..]);
    }
    let tail = (in_tail && meta.editable_in_place_by(crate::vault::fsutil::euid()))
        .then(|| How::in_place(start as u64, &buf[start..], &sealed_tail, prefix_sha));
    EditSeen {
        original_sha: hex_digest(orig),
        sealed_sha: hex_digest(sealed),
        sealed_size: buf.len() as u64 - removed_total + inserted_total,
        cuts,
        tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            size: 0,
            mode: 0o644,
            mtime: 0,
            mtime_nsec: 0,
            ino: 1,
            dev: 1,
            nlink: 1,
            uid: crate::sys::geteuid(),
            gid: 0,
        }
    }

    #[test]
    fn plan_edit_hashes_and_tails() {
        let src = b"code();\n//# sourceMappingURL=a.js.map\n";
        let a = scan::analyze(b"a.js", src);
        let e = plan_edit(src, &a.refs, &meta(), &Extra::default());
        assert_eq!(e.original_sha, hash::sha256_hex(src));
        assert_eq!(e.sealed_sha, hash::sha256_hex(b"code();\n\n"));
        assert_eq!(e.sealed_size, 9);
        let Some(How::InPlace {
            start,
            from,
            from_sha256: None,
            to,
            ..
        }) = e.tail
        else {
            panic!(
                "a small edit goes in place, its tail spelled out: {:?}",
                e.tail
            );
        };
        assert_eq!(start, 8);
        assert_eq!(
            B64.decode(from).expect("base64"),
            b"//# sourceMappingURL=a.js.map\n"
        );
        assert_eq!(B64.decode(to).expect("base64"), b"\n");
        assert!(
            matches!(&e.cuts[0].removed, Bytes::Text(t) if t == "//# sourceMappingURL=a.js.map")
        );
    }

    #[test]
    fn a_long_tail_is_named_by_its_hash_in_the_journal() {
        let comment = format!("//# sourceMappingURL={}.map", "u".repeat(2000));
        let src = format!("code();\n{comment}\n");
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        let tail = &src.as_bytes()[8..];
        match e.tail {
            Some(How::InPlace {
                start: 8,
                from,
                from_sha256: Some((sha, len)),
                to,
                ..
            }) => {
                assert!(from.is_empty());
                assert_eq!((sha, len), (hash::sha256_hex(tail), tail.len() as u64));
                assert_eq!(B64.decode(to).expect("base64"), b"\n");
            }
            other => panic!("expected an in-place edit with a hashed tail, got {other:?}"),
        }
        let is = crate::vault::journal::TailIs::Hashed {
            sha256: hash::sha256_hex(tail),
            len: tail.len() as u64,
        };
        assert!(is.matches(tail));
        assert!(!is.matches(&tail[1..]));
        let mut changed = tail.to_vec();
        changed[100] = b'v';
        assert!(!is.matches(&changed));
    }

    #[test]
    fn a_long_comment_at_the_end_is_cut_in_place_but_not_one_before_much_code() {
        let long = format!("//# sourceMappingURL={}.map", "u".repeat(200 * 1024));
        let src = format!("code();\n{long}\n");
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            matches!(e.tail, Some(How::InPlace { start: 8, .. })),
            "a 200 kB tail whose sealed form is one byte goes in place"
        );

        let mut src = String::from("//# sourceMappingURL=a.js.map\n");
        while src.len() < 100 * 1024 {
            src.push_str("function f(a){return a+1}\n");
        }
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            e.tail.is_none(),
            "a sealed tail over TAIL_MAX would bloat the journal: the file is rewritten"
        );

        let huge = format!("x\n//# sourceMappingURL={}.map", "u".repeat(2 << 20));
        let a = scan::analyze(b"a.js", huge.as_bytes());
        let e = plan_edit(huge.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            e.tail.is_none(),
            "an old tail over OLD_TAIL_MAX is rewritten"
        );
    }

    #[test]
    fn canonical_inline_maps_are_stored_once() {
        let src = b"x\n//# sourceMappingURL=data:application/json;base64,e30=\n";
        let a = scan::analyze(b"a.js", src);
        let e = plan_edit(src, &a.refs, &meta(), &Extra::default());
        match &e.cuts[0].removed {
            Bytes::InlineMap { map, prefix } => {
                assert_eq!(map, &hash::sha256_hex(b"{}"));
                assert_eq!(prefix, "//# sourceMappingURL=data:application/json;base64,");
            }
            other => panic!("expected inline_map, got {other:?}"),
        }
    }

    #[test]
    fn hard_linked_or_foreign_files_are_rewritten_not_edited_in_place() {
        let src = b"code();\n//# sourceMappingURL=a.js.map\n";
        let a = scan::analyze(b"a.js", src);
        let mut m = meta();
        m.nlink = 2;
        assert!(
            plan_edit(src, &a.refs, &m, &Extra::default())
                .tail
                .is_none()
        );
        let mut m = meta();
        m.mode = 0o444;
        assert!(
            plan_edit(src, &a.refs, &m, &Extra::default())
                .tail
                .is_none()
        );
    }

    /// The file `plan_edit` makes of `src` (scanned as `name`).
    fn sealed(name: &[u8], src: &[u8]) -> Vec<u8> {
        let a = scan::analyze(name, src);
        plan_edit(src, &a.refs, &meta(), &Extra::default()).sealed(src)
    }

    #[test]
    fn a_cut_comment_leaves_the_white_space_the_grammar_needs() {
        // The two examples, through the scanner and the planner.
        let src = b"x = 1/*# sourceMappingURL=a.js.map\n*/y = 2\n";
        assert_eq!(sealed(b"a.js", src), b"x = 1\n  y = 2\n");
        let src = b"function f(){return/*# sourceMappingURL=b.js.map */value}\n";
        let want = format!("function f(){{return{}value}}\n", " ".repeat(32));
        assert_eq!(sealed(b"b.js", src), want.as_bytes());
        // CSS, in a file and in an HTML `<style>`.
        let src = b".a/*# sourceMappingURL=c.css.map */.b{}";
        let want = format!(".a/*{}*/.b{{}}", " ".repeat(29));
        assert_eq!(sealed(b"c.css", src), want.as_bytes());
        let src = b"<style>.a/*# sourceMappingURL=c.css.map */.b{}</style>";
        let want = format!("<style>.a/*{}*/.b{{}}</style>", " ".repeat(29));
        assert_eq!(sealed(b"i.html", src), want.as_bytes());
        // The record keeps the fill as inserted text: unseal takes it out again.
        let src = b"a/*# sourceMappingURL=a.map */+b";
        let a = scan::analyze(b"a.js", src);
        let e = plan_edit(src, &a.refs, &meta(), &Extra::default());
        assert_eq!(e.cuts[0].splice.insert, " ".repeat(29));
        assert!(e.cuts[0].filled);
        assert_eq!(e.sealed_size, src.len() as u64);
        assert_eq!(e.sealed_sha, hash::sha256_hex(&e.sealed(src)));
    }

    #[test]
    fn a_utf16_file_gets_its_fill_in_utf16() {
        let utf16 = |s: &str, le: bool| -> Vec<u8> {
            let mut v = if le {
                b"\xff\xfe".to_vec()
            } else {
                b"\xfe\xff".to_vec()
            };
            for u in s.encode_utf16() {
                v.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            v
        };
        for le in [true, false] {
            let src = utf16("x = 1/*# sourceMappingURL=a.js.map\u{2028}*/+2;\n", le);
            let want = utf16("x = 1\u{2028}  +2;\n", le);
            assert_eq!(sealed(b"a.js", &src), want);
        }
        // windows-1252: one byte per character, spaces for the columns.
        let src = b"s = '\xe9';x = 1/*# sourceMappingURL=a.js.map */+2;";
        let want = format!("s = '\u{e9}';x = 1{}+2;", " ".repeat(32));
        let got = sealed(b"a.js", src);
        assert_eq!(encoding_rs::WINDOWS_1252.decode(&got).0, want);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, max_global_rejects: 100_000, ..proptest::prelude::ProptestConfig::default() })]
        /// What seal writes (scanner, planner, fills) tokenizes as the original did: the same
        /// tokens with the same line breaks before them, on the same lines and columns.
        #[test]
        fn a_sealed_file_has_the_original_token_stream(parts in proptest::collection::vec(crate::scan::cut::tests::statement(), 1..6)) {
            use crate::scan::cut::tests::tokens;
            let src: String = parts.concat();
            let before = tokens(&src);
            proptest::prop_assume!(before.is_some());
            let out = String::from_utf8(sealed(b"p.js", src.as_bytes()));
            proptest::prop_assert!(out.is_ok());
            let out = out.unwrap_or_default();
            proptest::prop_assert_eq!(before, tokens(&out), "{:?} -> {:?}", src, out);
        }
    }

    #[test]
    fn debug_id_text_replaces_the_last_comment_or_follows_the_last_line() {
        let src = b"code();\n//# sourceMappingURL=a.js.map\n";
        let a = scan::analyze(b"a.js", src);
        let extra = Extra {
            replace_last: Some("//# debugId=x".into()),
            ..Extra::default()
        };
        let e = plan_edit(src, &a.refs, &meta(), &extra);
        assert_eq!(e.sealed(src), b"code();\n//# debugId=x\n");
        let extra = Extra {
            append: Some("//# debugId=y\n".into()),
            ..Extra::default()
        };
        let e = plan_edit(src, &a.refs, &meta(), &extra);
        assert_eq!(e.sealed(src), b"code();\n\n//# debugId=y\n");
        assert_eq!(e.cuts[1].rewrite, Some(RewriteKind::DebugId));
        assert_eq!(e.sealed_sha, hash::sha256_hex(&e.sealed(src)));
    }
}
