//! Writing the journal and seal records as JSON on both cores, and serializing a seal's record
//! once: the record serialized for the journal is the one `seals/<id>.json` gets.
//!
//! A 25,000-file seal has a 20 MB journal and a 12 MB manifest record; serde_json writes them at
//! ~500 MB/s on one core while the other waits. Here the long arrays (journal steps, record
//! files) are cut into chunks serialized in parallel and joined, which gives the
//! same bytes as `serde_json::to_vec` of the whole (tested below).

use rayon::prelude::*;
use serde::Serialize;

use super::journal::Journal;
use super::manifest::SealRecord;

/// Elements per chunk: big enough that joining costs nothing next to serializing.
const CHUNK: usize = 2048;

/// JSON text as pieces to write one after the other (never joined into one buffer: a copy of
/// a 20 MB journal is 20 MB more peak memory).
#[derive(Debug, Default)]
pub struct Pieces(Vec<Vec<u8>>);

impl Pieces {
    fn push(&mut self, bytes: &[u8]) {
        match self.0.last_mut() {
            Some(last) if last.len() < 64 * 1024 => last.extend_from_slice(bytes),
            _ => self.0.push(bytes.to_vec()),
        }
    }

    fn append(&mut self, other: Pieces) {
        self.0.extend(other.0);
    }

    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }

    #[cfg(test)]
    fn concat(&self) -> Vec<u8> {
        self.0.concat()
    }
}

/// `items` as a JSON array, chunks serialized in parallel.
fn array<T: Serialize + Sync>(items: &[T]) -> serde_json::Result<Pieces> {
    let mut parts: Vec<Vec<u8>> = items
        .par_chunks(CHUNK)
        .map(serde_json::to_vec)
        .collect::<serde_json::Result<_>>()?;
    if parts.is_empty() {
        return Ok(Pieces(vec![b"[]".to_vec()]));
    }
    // Each part is `[…]` with at least one element: drop every `]` but the last, and turn
    // every `[` but the first into the `,` that joins it to the part before.
    let n = parts.len();
    for (i, p) in parts.iter_mut().enumerate() {
        if i + 1 < n {
            p.pop();
        }
        if i > 0 {
            p[0] = b',';
        }
    }
    Ok(Pieces(parts))
}

/// Writes `{"k":v,…}` field by field, with pre-serialized values spliced in as they are.
struct Object {
    out: Pieces,
    fields: usize,
}

impl Object {
    fn new() -> Self {
        Object {
            out: Pieces(vec![b"{".to_vec()]),
            fields: 0,
        }
    }

    fn key(&mut self, k: &str) {
        let mut b = Vec::with_capacity(k.len() + 4);
        if self.fields > 0 {
            b.push(b',');
        }
        self.fields += 1;
        b.push(b'"');
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b"\":");
        self.out.push(&b);
    }

    fn field<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) -> serde_json::Result<()> {
        self.key(k);
        self.out.push(&serde_json::to_vec(v)?);
        Ok(())
    }

    fn raw(&mut self, k: &str, v: Pieces) {
        self.key(k);
        self.out.append(v);
    }

    fn end(mut self) -> Pieces {
        self.out.0.push(b"}".to_vec());
        self.out
    }
}

/// A seal record, as `serde_json::to_vec` writes it.
pub fn record(r: &SealRecord) -> serde_json::Result<Pieces> {
    let mut o = Object::new();
    o.field("id", &r.id)?;
    o.field("dist", &r.dist)?;
    o.field("sealed_at", &r.sealed_at)?;
    o.field("tool", &r.tool)?;
    o.raw("files", array(&r.files)?);
    o.field("dirs", &r.dirs)?;
    if !r.links.is_empty() {
        o.field("links", &r.links)?;
    }
    Ok(o.end())
}

/// A journal as `serde_json::to_vec` writes it: the text up to its record, and the record
/// (the rest is `}`).
pub struct JournalJson {
    pub head: Pieces,
    pub record: Option<Pieces>,
}

impl JournalJson {
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.head
            .slices()
            .chain(self.record.iter().flat_map(Pieces::slices))
            .chain(std::iter::once(&b"}"[..]))
    }
}

pub fn journal(j: &Journal) -> serde_json::Result<JournalJson> {
    let (steps, rec) = rayon::join(
        || array(&j.steps),
        || j.record.as_ref().map(record).transpose(),
    );
    let (steps, record) = (steps?, rec?);
    let mut o = Object::new();
    o.field("format", &j.format)?;
    o.field("version", &j.version)?;
    o.field("op", &j.op)?;
    o.field("id", &j.id)?;
    o.field("dist", &j.dist)?;
    o.field("vault", &j.vault)?;
    o.raw("steps", steps);
    if record.is_some() {
        o.key("record");
    }
    Ok(JournalJson {
        head: o.out,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relpath::{RawPath, RelPath};
    use crate::vault::journal::{How, Op, Step};
    use crate::vault::manifest::{Action, DirRecord, FileRecord, Stored};

    fn rec(id: &str, n: usize) -> SealRecord {
        SealRecord {
            id: id.into(),
            dist: RawPath::from_path(std::path::Path::new("/d/ist \"q\"")),
            sealed_at: "2026-11-24T00:00:00Z".into(),
            tool: "mapvault test".into(),
            files: (0..n)
                .map(|i| FileRecord {
                    stored: Some(Stored::Map(format!("{i:064x}"))),
                    ..FileRecord::new(
                        RelPath::new(format!("a/{i}\u{e9}\n.js.map").into_bytes()),
                        Action::Moved,
                        format!("{i:064x}"),
                        i as u64,
                        &crate::meta::Meta {
                            mode: 0o644,
                            mtime: -(i as i64),
                            mtime_nsec: 7,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            dirs: vec![DirRecord {
                path: RelPath::new(b"a".to_vec()),
                mode: 0o755,
            }],
            links: if n % 2 == 1 {
                vec![crate::vault::manifest::LinkRecord {
                    path: RelPath::new(b"l.js.map".to_vec()),
                    target: RawPath::from_path(std::path::Path::new("../x \"q\".map")),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn the_parallel_writer_gives_serde_jsons_bytes() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let r = rec("seal-1", n);
            assert_eq!(
                record(&r).expect("serializes").concat(),
                serde_json::to_vec(&r).expect("serializes"),
                "{n}"
            );

            let mut j = Journal::new(Op::Seal, "seal-1".into(), r.dist.clone());
            j.steps = (0..n)
                .map(|i| Step::Edit {
                    path: RelPath::new(format!("f{i}.js").into_bytes()),
                    meta: Default::default(),
                    original_sha256: "o".into(),
                    sealed_sha256: "s".into(),
                    splices: vec![crate::splice::Splice::cut(i as u64, 3)],
                    how: How::in_place(i as u64, b"//# x", b"", "p".into()),
                })
                .collect();
            let text = |jj: &JournalJson| jj.slices().collect::<Vec<_>>().concat();
            let jj = journal(&j).expect("serializes");
            assert_eq!(
                text(&jj),
                serde_json::to_vec(&j).expect("serializes"),
                "{n}"
            );
            assert!(jj.record.is_none());
            j.record = Some(r.clone());
            let jj = journal(&j).expect("serializes");
            assert_eq!(
                text(&jj),
                serde_json::to_vec(&j).expect("serializes"),
                "{n}"
            );
            assert_eq!(
                jj.record.expect("a record").concat(),
                serde_json::to_vec(&r).expect("serializes")
            );
        }
    }
}
