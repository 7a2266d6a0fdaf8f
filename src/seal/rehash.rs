//! Keeping the dist consistent with what seal changes. Hashes of a changed file's old bytes are
//! recomputed where the dist's consumer checks them and their meaning is clear — HTML
//! `integrity="sha…-…"` values and Angular `ngsw.json` hash tables ([`fix_hashes`]) — and
//! reported where they are some other tool's business: precache lists and asset manifests
//! ([`stale_hash_notes`]). Both read the dist before planning (only the files that matter).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use sha2::Digest;

use crate::findings::{NoteKind, NoteRecord, RewriteKind};
use crate::hash;
use crate::scan::{self, FileKind, integrity, url};
use crate::splice::Splice;

use super::edit::{Extra, plan_edit};
use super::inspect::Seen;

/// Original and sealed bytes of one file.
type BeforeAfter = (Vec<u8>, Vec<u8>);

/// The dist's files by path, and the original and sealed bytes of edited files, read once.
struct Edited<'a> {
    dist: &'a Path,
    by_path: HashMap<Vec<u8>, usize>,
    cache: HashMap<usize, Option<BeforeAfter>>,
}

impl Edited<'_> {
    /// The file a local URL in file `rel` names, when seal edits it.
    fn target(&self, rel: &[u8], url: &[u8], seen: &[Seen]) -> Option<usize> {
        match url::resolve(rel, url) {
            url::Target::Inside(p) => self
                .by_path
                .get(&p)
                .copied()
                .filter(|&j| seen[j].edit.is_some()),
            _ => None,
        }
    }

    /// Original and sealed bytes of edited file `j` (`None` if it changed since inspection).
    fn load(&mut self, j: usize, seen: &[Seen]) -> Option<BeforeAfter> {
        let dist = self.dist;
        self.cache
            .entry(j)
            .or_insert_with(|| {
                let s = &seen[j];
                let e = s.edit.as_ref()?;
                let bytes = std::fs::read(s.entry.rel.under(dist)?).ok()?;
                if hash::sha256_hex(&bytes) != e.original_sha {
                    return None;
                }
                let sealed = e.sealed(&bytes);
                Some((bytes, sealed))
            })
            .clone()
    }
}

/// Recompute `integrity="sha…-…"` tokens in HTML files and Angular `ngsw.json` hash-table
/// entries that name a file seal edits (only where the old value matched the old bytes: a value
/// that was already wrong is noted, not guessed). Runs after the edits of every other file are
/// final.
pub(crate) fn fix_hashes(seen: &mut [Seen], dist: &Path) {
    let mut edited = Edited {
        dist,
        by_path: seen
            .iter()
            .enumerate()
            .map(|(i, s)| (s.entry.rel.as_bytes().to_vec(), i))
            .collect(),
        cache: HashMap::new(),
    };
    let mut updates: Vec<(usize, Vec<u8>, Extra, Vec<String>)> = Vec::new();
    for i in 0..seen.len() {
        let s = &seen[i];
        if s.error.is_some() || s.map.is_some() || s.packed.is_some() {
            continue;
        }
        let name = s.entry.rel.file_name();
        let html = matches!(scan::classify(name), FileKind::Html);
        let ngsw = name == b"ngsw.json";
        if !html && !ngsw {
            continue;
        }
        let Some(buf) = s.entry.rel.under(dist).and_then(|p| std::fs::read(p).ok()) else {
            continue;
        };
        if buf.len() as u64 != s.entry.meta.size
            || s.edit
                .as_ref()
                .is_some_and(|e| hash::sha256_hex(&buf) != e.original_sha)
        {
            continue;
        }
        let rel = s.entry.rel.as_bytes().to_vec();
        let mut extra = Extra::default();
        let mut notes = Vec::new();
        if html {
            integrity_fixes(&buf, &rel, seen, &mut edited, &mut extra, &mut notes);
        }
        if ngsw {
            ngsw_fixes(&buf, &rel, seen, &mut edited, &mut extra, &mut notes);
        }
        if !extra.rewrites.is_empty() || !notes.is_empty() {
            updates.push((i, buf, extra, notes));
        }
    }
    for (i, buf, extra, notes) in updates {
        let s = &mut seen[i];
        if !extra.rewrites.is_empty() {
            s.edit = Some(plan_edit(&buf, &s.refs, &s.entry.meta, &extra));
        }
        let path = s.entry.rel.lossy();
        s.notes
            .extend(notes.into_iter().map(|n| NoteRecord::new(path.clone(), n)));
    }
}

/// The `integrity` values of HTML file `rel` (`buf`) that name a file seal edits.
fn integrity_fixes(
    buf: &[u8],
    rel: &[u8],
    seen: &[Seen],
    edited: &mut Edited,
    extra: &mut Extra,
    notes: &mut Vec<String>,
) {
    for r in integrity::find(buf) {
        if !integrity::is_local(&r.url) {
            continue;
        }
        let Some(j) = edited.target(rel, &r.url, seen) else {
            continue;
        };
        let Some((old, new)) = edited.load(j, seen) else {
            continue;
        };
        if r.alg.token(&old) != String::from_utf8_lossy(&buf[r.span.clone()]) {
            notes.push(format!(
                "line {}: integrity of {} did not match that file before seal; left as it is",
                r.line,
                String::from_utf8_lossy(&r.url)
            ));
            continue;
        }
        let splice = Splice {
            offset: r.span.start as u64,
            len: r.span.len() as u64,
            insert: r.alg.token(&new),
        };
        extra.rewrites.push((splice, RewriteKind::Integrity));
    }
}

/// The `hashTable` entries of `ngsw.json` (`buf`) that name a file seal edits.
fn ngsw_fixes(
    buf: &[u8],
    rel: &[u8],
    seen: &[Seen],
    edited: &mut Edited,
    extra: &mut Extra,
    notes: &mut Vec<String>,
) {
    let sha1 = |b: &[u8]| hex::encode(sha1::Sha1::digest(b));
    for e in integrity::ngsw_entries(buf) {
        let Some(j) = edited.target(rel, e.url.as_bytes(), seen) else {
            continue;
        };
        let Some((old, new)) = edited.load(j, seen) else {
            continue;
        };
        if sha1(&old) != e.sha1.to_ascii_lowercase() {
            notes.push(format!(
                "hashTable entry {} did not match that file before seal; left as it is",
                e.url
            ));
            continue;
        }
        let splice = Splice {
            offset: e.span.start as u64,
            len: e.span.len() as u64,
            insert: sha1(&new),
        };
        extra.rewrites.push((splice, RewriteKind::NgswHash));
    }
}

/// Where list `buf` holds a digest of a file in `mentioned` (as `spellings` gives them): one
/// `(line, file, algorithm)` per digest, at its first occurrence, sorted.
///
/// Linear in `buf` whatever the number of files: the list is cut once into its hex and base64
/// tokens of a digest's length ([`digest_tokens`]) and each file's digests are looked up there.
/// (Searching each digest separately, and counting lines from the start for each hit, took
/// minutes on a 16 MB webpack `stats.json` naming 10,000 chunks; one Aho-Corasick automaton
/// over all 60,000 digests still grew faster than the input: issue 15.) A digest is found where
/// it stands as a token of its own — between quotes, after `sha384-`, in `?v=` — not as part of
/// a longer hex or base64 run, which would not be that file's digest anyway.
fn stale_digests(
    buf: &[u8],
    mentioned: BTreeSet<usize>,
    mut spellings: impl FnMut(usize) -> Option<Vec<(&'static str, String)>>,
) -> Vec<(usize, usize, &'static str)> {
    let tokens = digest_tokens(buf);
    if tokens.is_empty() {
        return Vec::new();
    }
    let mut at: Vec<(usize, usize, &'static str)> = Vec::new();
    for j in mentioned {
        for (alg, text) in spellings(j).into_iter().flatten() {
            if let Some(&pos) = tokens.get(text.as_bytes()) {
                at.push((pos, j, alg));
            }
        }
    }
    at.sort_unstable();
    let (mut line, mut counted) = (1, 0);
    let mut found: Vec<(usize, usize, &'static str)> = at
        .into_iter()
        .map(|(pos, j, alg)| {
            line += memchr::memchr_iter(b'\n', &buf[counted..pos]).count();
            counted = pos;
            (line, j, alg)
        })
        .collect();
    found.sort_unstable();
    found
}

/// The first position of every token of `buf` that could be a digest as
/// [`integrity::spellings`] writes it: a run of hex digits 32, 40 or 64 long (MD5, SHA-1,
/// SHA-256), or a run of base64 characters with its `=` padding 44, 64 or 88 long (SHA-256,
/// SHA-384, SHA-512). One pass; a run is cut both ways, as hex and as base64.
fn digest_tokens(buf: &[u8]) -> HashMap<&[u8], usize> {
    const HEX_LENS: [usize; 3] = [32, 40, 64];
    const B64_LENS: [usize; 3] = [44, 64, 88];
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut tokens: HashMap<&[u8], usize> = HashMap::new();
    let mut runs = |accept: &dyn Fn(u8) -> bool, pad: bool, lens: &[usize]| {
        let mut i = 0;
        while i < buf.len() {
            if !accept(buf[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < buf.len() && accept(buf[i]) {
                i += 1;
            }
            if pad {
                let mut k = 0;
                while k < 2 && i < buf.len() && buf[i] == b'=' {
                    i += 1;
                    k += 1;
                }
            }
            if lens.contains(&(i - start)) {
                tokens.entry(&buf[start..i]).or_insert(start);
            }
        }
    };
    runs(&|c: u8| c.is_ascii_hexdigit(), false, &HEX_LENS);
    runs(&is_b64, true, &B64_LENS);
    tokens
}

/// Files seal does not rewrite that still hold a hash of a file seal changes, as it was
/// before: Workbox precache lists (`revision`: MD5), asset manifests with SHA or SRI values.
/// Reported as notes (kind `stale-hash`), never rewritten: what such a list means (and whether
/// it is regenerated later in the build) is the tool's business, not a guess to make here.
/// Only files [`integrity::may_list_hashes`] names are read, and only changed files whose name
/// appears in them are hashed, so a big dist pays nothing for it.
pub(crate) fn stale_hash_notes(seen: &[Seen], dist: &Path) -> Vec<NoteRecord> {
    const MAX_LIST: u64 = 16 << 20;
    const MAX_NOTES_PER_FILE: usize = 20;
    let candidates: Vec<usize> = (0..seen.len())
        .filter(|&i| {
            let s = &seen[i];
            s.error.is_none()
                && s.map.is_none()
                && s.packed.is_none()
                && integrity::may_list_hashes(s.entry.rel.file_name())
        })
        .collect();
    let changed: Vec<usize> = (0..seen.len())
        .filter(|&j| seen[j].edit.is_some() && seen[j].map.is_none())
        .collect();
    if candidates.is_empty() || changed.is_empty() {
        return Vec::new();
    }
    let names: Vec<&[u8]> = changed
        .iter()
        .map(|&j| seen[j].entry.rel.file_name())
        .collect();
    let Ok(by_name) = aho_corasick::AhoCorasick::new(&names) else {
        return Vec::new();
    };
    // Digests of a changed file's original bytes, computed once.
    let mut spellings: HashMap<usize, Option<Vec<(&'static str, String)>>> = HashMap::new();
    let mut notes = Vec::new();
    for &i in &candidates {
        let s = &seen[i];
        // At most MAX_LIST bytes (the walk gave names only: the size is learnt by reading).
        let Some(buf) = s.entry.rel.under(dist).and_then(|p| {
            use std::io::Read;
            let mut buf = Vec::new();
            let f = crate::inspect::open_nofollow(&p).ok()?;
            f.take(MAX_LIST + 1).read_to_end(&mut buf).ok()?;
            (buf.len() as u64 <= MAX_LIST).then_some(buf)
        }) else {
            continue;
        };
        let mentioned: BTreeSet<usize> = by_name
            .find_overlapping_iter(&buf)
            .map(|m| changed[m.pattern().as_usize()])
            .filter(|&j| j != i)
            .collect();
        let found = stale_digests(&buf, mentioned, |j| {
            spellings
                .entry(j)
                .or_insert_with(|| {
                    let e = seen[j].edit.as_ref()?;
                    let bytes = std::fs::read(seen[j].entry.rel.under(dist)?).ok()?;
                    (hash::sha256_hex(&bytes) == e.original_sha)
                        .then(|| integrity::spellings(&bytes))
                })
                .clone()
        });
        let total = found.len();
        let path = s.entry.rel.lossy();
        for (line, j, alg) in found.into_iter().take(MAX_NOTES_PER_FILE) {
            let file = seen[j].entry.rel.lossy();
            let message = if alg == "MD5" {
                // Workbox's precache `revision`: a cache key, which still changes whenever the
                // file does (seal is deterministic), so caching keeps working.
                format!(
                    "line {line}: the MD5 of {file} as it was before seal (a precache revision, \
                     as Workbox writes): only a cache key, and it still changes whenever the file \
                     does, so caching keeps working; regenerate this list after seal (Workbox \
                     injectManifest) only if it must match the sealed bytes"
                )
            } else {
                format!(
                    "line {line}: the {alg} of {file} as it was before seal; seal changes that \
                     file, so this entry is stale: regenerate this list after seal (mapvault \
                     reports it, it does not rewrite it)"
                )
            };
            notes.push(NoteRecord::of_kind(
                NoteKind::StaleHash,
                path.clone(),
                message,
            ));
        }
        if total > MAX_NOTES_PER_FILE {
            notes.push(NoteRecord::of_kind(
                NoteKind::StaleHash,
                path,
                format!(
                    "and {} more stale hashes of files seal changes",
                    total - MAX_NOTES_PER_FILE
                ),
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_tokens_are_whole_hex_and_base64_runs_of_a_digest_length() {
        let md5 = "900150983cd24fb0d6963f7d28e17f72";
        let sri = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        let buf = format!(
            "{{\"revision\":\"{md5}\",\n\"integrity\":\"sha256-{sri}\",\
             \"long\":\"{md5}00\",\"short\":\"{}\"}}",
            &md5[..31]
        );
        let t = digest_tokens(buf.as_bytes());
        assert_eq!(t.get(md5.as_bytes()), buf.find(md5).as_ref());
        assert_eq!(t.get(sri.as_bytes()), buf.find(sri).as_ref());
        // Part of a longer run, or too short: not a digest.
        assert_eq!(t.len(), 2, "{t:?}");
    }

    #[test]
    fn stale_digests_gives_each_digest_its_first_line_in_order() {
        let a = integrity::spellings(b"a");
        let b = integrity::spellings(b"b");
        let get = |s: &[(&str, String)], alg: &str| {
            s.iter()
                .find(|(k, _)| *k == alg)
                .expect("spelled")
                .1
                .clone()
        };
        let buf = format!(
            "x\n{}\ny\n{} {}\n{}\n",
            get(&b, "SHA-1"),
            get(&a, "MD5"),
            get(&b, "SHA-384 (base64)"),
            get(&a, "MD5"),
        );
        let found = stale_digests(buf.as_bytes(), BTreeSet::from([1, 2, 3]), |j| match j {
            1 => Some(a.clone()),
            2 => Some(b.clone()),
            _ => None,
        });
        assert_eq!(
            found,
            vec![(2, 2, "SHA-1"), (4, 1, "MD5"), (4, 2, "SHA-384 (base64)")]
        );
    }
}
