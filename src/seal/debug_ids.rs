//! `seal --debug-ids`: link each bundle and its map by a debug ID (ECMA-426 proposal), as
//! `sentry-cli sourcemaps inject` would (see [`crate::debugid`]). A bundle is paired with the map
//! its last reference names (or the inline map it carries, or a map found by name the way
//! sentry-cli pairs them); its edit is planned again to carry the `//# debugId=` comment, and the
//! map is planned to be stored a second time with `"debugId"` in it. Bundles and maps are read
//! again here (only those paired), before planning.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::debugid;
use crate::hash;
use crate::scan::{self, FileKind, datauri, url};

use super::DebugIds;
use super::edit::{EditSeen, Extra, plan_edit};
use super::inspect::{DebugSeen, MapWithId, Packed, Seen};

/// Which map a bundle's debug ID is derived from.
enum MapSource {
    /// A map file in the dist (index into `seen`); `guessed` when paired by name.
    External { idx: usize, guessed: bool },
    /// The inline map of the bundle's last reference.
    /// `url` is the URL's text; `url_len` its length in the file (UTF-16 doubles it).
    Inline {
        url: Vec<u8>,
        url_offset: u64,
        url_len: u64,
    },
}

impl MapSource {
    fn map_idx(&self) -> Option<usize> {
        match self {
            MapSource::External { idx, .. } => Some(*idx),
            MapSource::Inline { .. } => None,
        }
    }
}

/// The dist as the pairing sees it: files by path, maps that references name.
struct Pairing {
    by_path: HashMap<Vec<u8>, usize>,
    /// Maps a reference names are never paired with another bundle by name.
    referenced: HashSet<Vec<u8>>,
}

impl Pairing {
    fn new(seen: &[Seen]) -> Pairing {
        let by_path = seen
            .iter()
            .enumerate()
            .map(|(i, s)| (s.entry.rel.as_bytes().to_vec(), i))
            .collect();
        let mut referenced = HashSet::new();
        for s in seen {
            for c in s.edit.iter().flat_map(|e| &e.cuts) {
                if let url::Target::Inside(p) = url::resolve(s.entry.rel.as_bytes(), &c.url) {
                    referenced.insert(p);
                }
            }
        }
        Pairing {
            by_path,
            referenced,
        }
    }

    /// The map sentry-cli would pair bundle `i` with by name.
    fn guess(&self, i: usize, seen: &[Seen]) -> Option<usize> {
        let is_map = |p: &[u8]| {
            !self.referenced.contains(p)
                && self.by_path.get(p).is_some_and(|&j| seen[j].is_plain_map())
        };
        debugid::guess_map(seen[i].entry.rel.as_bytes(), &is_map)
            .and_then(|p| self.by_path.get(&p).copied())
    }

    /// Where bundle `i`'s map is: the last reference's target (inline or a map in the dist),
    /// else a map guessed by name that no other bundle also guesses.
    fn source(
        &self,
        i: usize,
        seen: &[Seen],
        guessed_count: &HashMap<usize, usize>,
    ) -> Option<MapSource> {
        match seen[i].edit.as_ref().and_then(|e| e.cuts.last()) {
            Some(c) if c.inline.is_some() => match &c.inline {
                Some(Ok(_)) => Some(MapSource::Inline {
                    url: c.url.clone(),
                    url_offset: c.url_offset,
                    url_len: c.url_len,
                }),
                _ => None,
            },
            Some(c) => match url::resolve(seen[i].entry.rel.as_bytes(), &c.url) {
                url::Target::Inside(p) => match self.by_path.get(&p) {
                    Some(&j) if seen[j].is_plain_map() => Some(MapSource::External {
                        idx: j,
                        guessed: false,
                    }),
                    _ => None,
                },
                _ => None,
            },
            None => match self.guess(i, seen) {
                Some(j) if guessed_count.get(&j) == Some(&1) => Some(MapSource::External {
                    idx: j,
                    guessed: true,
                }),
                _ => None,
            },
        }
    }
}

/// JavaScript bundles that can get an ID, in path order.
fn bundles(seen: &[Seen]) -> Vec<usize> {
    let is_js = |s: &Seen| {
        let name = s.entry.rel.file_name();
        matches!(scan::classify(name), FileKind::Js(_))
            && [&b".js"[..], b".mjs", b".cjs"]
                .iter()
                .any(|e| name.ends_with(e))
    };
    let mut order: Vec<usize> = (0..seen.len())
        .filter(|&i| {
            let s = &seen[i];
            is_js(s) && s.error.is_none() && s.map.is_none() && !s.held
        })
        .collect();
    order.sort_by(|&a, &b| {
        seen[a]
            .entry
            .rel
            .as_bytes()
            .cmp(seen[b].entry.rel.as_bytes())
    });
    order
}

/// Give every bundle with a map a debug ID, re-plan its edit to carry the comment, and plan the
/// map copies that carry `"debugId"`.
pub(crate) fn assign_debug_ids(seen: &mut [Seen], mode: DebugIds, dist: &Path) {
    let pairing = Pairing::new(seen);
    let order = bundles(seen);
    // A map guessed for two bundles is given to neither (sentry-cli does the same).
    let mut guessed_count: HashMap<usize, usize> = HashMap::new();
    for &i in &order {
        if seen[i].edit.is_none()
            && let Some(j) = pairing.guess(i, seen)
        {
            *guessed_count.entry(j).or_default() += 1;
        }
    }
    let mut map_ids: HashMap<usize, String> = HashMap::new();
    let mut siblings: Vec<(usize, EditSeen, Vec<u8>)> = Vec::new();
    for i in order {
        let Some(source) = pairing.source(i, seen, &guessed_count) else {
            continue;
        };
        let Some((js, map, sentry_finds_map)) = read_pair(seen, i, &source, dist) else {
            continue;
        };
        let in_bundle = debugid::in_bundle(&js);
        let in_map = debugid::in_map(&map);
        let map_idx = source.map_idx();
        let id = in_bundle
            .clone()
            .or_else(|| map_idx.and_then(|j| map_ids.get(&j).cloned()))
            .or_else(|| in_map.clone())
            .unwrap_or_else(|| {
                if sentry_finds_map {
                    debugid::of_bundle_and_map(&js, &map)
                } else {
                    debugid::of_bundle(&js)
                }
            });
        // The map gets the ID unless it has one (or an earlier bundle already gave it one).
        let already = map_idx.is_some_and(|j| map_ids.contains_key(&j));
        let store = (in_map.is_none() && !already)
            .then(|| map_with_id(&map, &id, &source))
            .flatten();
        let map_sha_with_id = store.as_ref().map(|m| m.sha.clone());
        if let Some(j) = map_idx {
            map_ids.entry(j).or_insert_with(|| id.clone());
            if store.is_some() {
                seen[j].debug = Some(DebugSeen {
                    id: id.clone(),
                    store: store.clone(),
                    guessed_map: None,
                    map_sha_with_id: map_sha_with_id.clone(),
                });
            }
        }
        if in_bundle.is_none() {
            let extra = bundle_extra(&js, seen[i].edit.as_ref(), &id, mode);
            replan_bundle(seen, i, &js, &extra, &pairing, &mut siblings);
        }
        seen[i].debug = Some(DebugSeen {
            id,
            store: store.filter(|m| m.inline.is_some()),
            guessed_map: match source {
                MapSource::External { idx, guessed: true } => Some(seen[idx].entry.rel.clone()),
                _ => None,
            },
            map_sha_with_id,
        });
    }
    for (k, edit, sealed) in siblings {
        update_sibling(&mut seen[k], edit, &sealed);
    }
}

/// Read bundle `i` and its map again, checking both are the files inspected. Returns the
/// bundle, the map, and whether sentry-cli would find this map (it reads external maps and
/// inline maps with its own preamble). A file that changed gets an error and no ID.
fn read_pair(
    seen: &mut [Seen],
    i: usize,
    source: &MapSource,
    dist: &Path,
) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    let s = &seen[i];
    let path = s.entry.rel.under(dist)?;
    let js = match std::fs::read(&path) {
        Ok(b) if b.len() as u64 == s.entry.meta.size => b,
        Ok(_) => {
            seen[i].error = Some("file changed while it was being read".into());
            return None;
        }
        Err(e) => {
            seen[i].error = Some(format!("cannot read: {e}"));
            return None;
        }
    };
    if s.edit
        .as_ref()
        .is_some_and(|e| hash::sha256_hex(&js) != e.original_sha)
    {
        seen[i].error = Some("file changed while it was being read".into());
        return None;
    }
    match source {
        MapSource::External { idx, .. } => {
            let m = &seen[*idx];
            let bytes = m.entry.rel.under(dist).and_then(|p| std::fs::read(p).ok());
            match bytes {
                Some(b) if Some(hash::sha256_hex(&b)) == m.map.as_ref().map(|x| x.sha.clone()) => {
                    Some((js, b, true))
                }
                _ => {
                    seen[*idx].error = Some("file changed while it was being read".into());
                    None
                }
            }
        }
        MapSource::Inline { url, .. } => match datauri::decode(url) {
            Ok(d) => Some((js, d.data, url.starts_with(debugid::SENTRY_DATA_PREAMBLE))),
            Err(_) => None,
        },
    }
}

/// The map with `"debugId"` inserted, when it is JSON the insertion understands.
fn map_with_id(map: &[u8], id: &str, source: &MapSource) -> Option<MapWithId> {
    debugid::map_insertion(map, id).map(|(at, text)| {
        let mut with = map.to_vec();
        with.splice(at..at, text.bytes());
        MapWithId {
            inline: match source {
                MapSource::Inline {
                    url_offset,
                    url_len,
                    ..
                } => Some((*url_offset, *url_len)),
                MapSource::External { .. } => None,
            },
            offset: at as u64,
            text,
            sha: hash::sha256_hex(&with),
        }
    })
}

/// What the bundle gets: its last reference replaced with the comment when that is a `//`
/// comment within the last five lines; otherwise the comment (and with `=sentry` the snippet)
/// appended after the last line.
fn bundle_extra(js: &[u8], edit: Option<&EditSeen>, id: &str, mode: DebugIds) -> Extra {
    let mut extra = Extra::default();
    let nl = if js.ends_with(b"\r\n") { "\r\n" } else { "\n" };
    let ends_nl = matches!(js.last(), Some(b'\n' | b'\r'));
    let (sep, end) = if ends_nl { ("", nl) } else { ("\n", "") };
    let replace = edit.and_then(|e| e.cuts.last()).is_some_and(|c| {
        let after = &js[c.splice.end() as usize..];
        // A `//` comment runs to the end of its line: it may only replace a cut after which
        // nothing follows on that line (no fill).
        c.form == scan::Form::LineComment
            && c.splice.insert.is_empty()
            && after
                .split(|&b| b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .count()
                <= 4
    });
    let comment = debugid::comment(id);
    let snippet = (mode == DebugIds::Sentry).then(|| debugid::snippet(id));
    if replace {
        extra.replace_last = Some(comment);
        extra.append = snippet.map(|sn| format!("{sep}{sn}{end}"));
    } else {
        extra.append = Some(match snippet {
            Some(sn) => format!("{sep}{sn}{nl}{comment}{end}"),
            None => format!("{sep}{comment}{end}"),
        });
    }
    extra
}

/// Plan bundle `i`'s edit again with `extra`; its precompressed copies (`.gz`, `.br`, `.zst`)
/// are to carry the same sealed bytes.
fn replan_bundle(
    seen: &mut [Seen],
    i: usize,
    js: &[u8],
    extra: &Extra,
    pairing: &Pairing,
    siblings: &mut Vec<(usize, EditSeen, Vec<u8>)>,
) {
    let s = &mut seen[i];
    let edit = plan_edit(js, &s.refs, &s.entry.meta, extra);
    let sealed = edit.sealed(js);
    for ext in [&b".gz"[..], b".br", b".zst"] {
        let sib = [s.entry.rel.as_bytes(), ext].concat();
        if let Some(&k) = pairing.by_path.get(&sib) {
            siblings.push((k, edit.clone(), sealed.clone()));
        }
    }
    s.edit = Some(edit);
}

/// A precompressed copy of a bundle that got an ID: regenerated from the bundle's new sealed
/// bytes, when it is a copy of that bundle.
fn update_sibling(sib: &mut Seen, edit: EditSeen, sealed: &[u8]) {
    if let Some(Packed::Refs {
        codec,
        inner,
        new_sha,
        new_size,
        ..
    }) = &mut sib.packed
        && inner.original_sha == edit.original_sha
    {
        match crate::compress::compress(*codec, sealed) {
            Ok(z) => {
                *new_sha = hash::sha256_hex(&z);
                *new_size = z.len() as u64;
                **inner = edit;
            }
            Err(e) => sib.error = Some(format!("cannot compress the sealed copy: {e}")),
        }
    }
}
