//! Byte-range edits: a [`Splice`] replaces `len` bytes at `offset` with `insert`. Seal plans its
//! cuts as splices (a reference comment out, a `//# debugId=` comment or a recomputed hash in),
//! the journal carries them, the apply layer streams them through a file, and unseal undoes them
//! with splices of its own (what seal inserted out, what it removed back in).

/// Replace `len` bytes at `offset` (in the input) with `insert` — text for seal's own edits,
/// bytes for unseal's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Splice<I = String> {
    pub offset: u64,
    pub len: u64,
    pub insert: I,
}

impl Splice {
    /// Remove `len` bytes at `offset`, inserting nothing.
    pub fn cut(offset: u64, len: u64) -> Splice {
        Splice {
            offset,
            len,
            insert: String::new(),
        }
    }
}

impl<I: AsRef<[u8]>> Splice<I> {
    /// The offset just past the replaced bytes.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    pub fn insert_bytes(&self) -> &[u8] {
        self.insert.as_ref()
    }
}

/// `bytes` with every splice applied. Splices are sorted by offset and do not overlap, and lie
/// within `bytes` (they were planned from these bytes); the caller checks hashes of the result.
pub fn apply<I: AsRef<[u8]>>(bytes: &[u8], splices: &[Splice<I>]) -> Vec<u8> {
    let inserted: usize = splices.iter().map(|s| s.insert_bytes().len()).sum();
    let mut out = Vec::with_capacity(bytes.len() + inserted);
    let mut pos = 0usize;
    for s in splices {
        let (o, e) = (s.offset as usize, s.end() as usize);
        out.extend_from_slice(&bytes[pos..o]);
        out.extend_from_slice(s.insert_bytes());
        pos = e;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// The serde form of a list of splices in the journal: `cuts` (`[[offset, len], …]`) and
/// `inserts` (one text per cut, or none at all when no cut inserts anything), as journals have
/// always been written.
pub mod journal_form {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Splice;

    #[derive(Serialize, Deserialize)]
    struct Form {
        cuts: Vec<(u64, u64)>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inserts: Vec<String>,
    }

    pub fn serialize<S: Serializer>(splices: &[Splice], s: S) -> Result<S::Ok, S::Error> {
        let cuts = splices.iter().map(|c| (c.offset, c.len)).collect();
        let inserts = if splices.iter().all(|c| c.insert.is_empty()) {
            Vec::new()
        } else {
            splices.iter().map(|c| c.insert.clone()).collect()
        };
        Form { cuts, inserts }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Splice>, D::Error> {
        let f = Form::deserialize(d)?;
        if !f.inserts.is_empty() && f.inserts.len() != f.cuts.len() {
            return Err(serde::de::Error::custom(
                "inserts must be empty or one per cut",
            ));
        }
        let mut inserts = f.inserts.into_iter();
        Ok(f.cuts
            .into_iter()
            .map(|(offset, len)| Splice {
                offset,
                len,
                insert: inserts.next().unwrap_or_default(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_and_inserts_apply_in_order() {
        let b = b"abc//x\ndef//y";
        assert_eq!(
            apply(b, &[Splice::cut(3, 3), Splice::cut(10, 3)]),
            b"abc\ndef"
        );
        let s = [
            Splice {
                offset: 0,
                len: 0,
                insert: "<".to_string(),
            },
            Splice {
                offset: 13,
                len: 0,
                insert: ">".to_string(),
            },
        ];
        assert_eq!(apply(b, &s), b"<abc//x\ndef//y>");
        let back = [Splice {
            offset: 3,
            len: 1,
            insert: b"//x".to_vec(),
        }];
        assert_eq!(apply(b"abc\n", &back), b"abc//x");
    }
}
