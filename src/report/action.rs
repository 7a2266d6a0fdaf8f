//! Seal's actions in words: the `detail` of each [`ActionRecord`] (arrows, plurals, shortened
//! URLs), shared by the human report (`--verbose`, `--dry-run`) and the JSON contract
//! `{"path", "action", "line", "detail"}`, whose `Serialize` is written here so the record itself
//! stays data.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::plural;
use crate::findings::{ActionRecord, Change, RewriteKind, ShownUrl, TargetKind};

impl Serialize for ActionRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ActionRecord", 4)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("action", self.change.name())?;
        match self.line {
            Some(line) => st.serialize_field("line", &line)?,
            None => st.skip_field("line")?,
        }
        st.serialize_field("detail", &detail(&self.change))?;
        st.end()
    }
}

/// One line for people saying what a change did.
pub(crate) fn detail(c: &Change) -> String {
    match c {
        Change::Move {
            size,
            object,
            compressed,
            same_as_others,
        } => {
            let how = if *same_as_others > 0 {
                format!(" (same bytes as {same_as_others} other)")
            } else {
                String::new()
            };
            match compressed {
                Some((codec, decoded)) => format!(
                    "{} source map, {size} bytes → blobs/{object}, decoded → maps/{decoded}.map{how}",
                    codec.name()
                ),
                None => format!("source map, {size} bytes → maps/{object}.map{how}"),
            }
        }
        Change::Extract { size, sha } => {
            format!("inline source map, {size} bytes decoded → maps/{sha}.map")
        }
        Change::Recompress {
            codec,
            inner_name,
            references,
            original,
        } => format!(
            "{} copy of {inner_name}: {} removed inside, regenerated from the sealed bytes; original → blobs/{original}",
            codec.name(),
            plural(*references, "reference")
        ),
        Change::Strip {
            url,
            len,
            target,
            replaced_by,
        } => {
            let shown = match url {
                ShownUrl::DataUri => "data: URI".to_string(),
                ShownUrl::Text(t) => crate::sanitize::truncate(t, 160),
            };
            let replaced = replaced_by
                .as_ref()
                .map_or_else(String::new, |t| format!("; replaced by {t}"));
            format!(
                "sourceMappingURL={shown} ({len} bytes; target: {}){replaced}",
                target_name(*target)
            )
        }
        Change::RemoveDir => "empty once its maps moved".into(),
        Change::RemoveLink { target } => format!(
            "symbolic link to {} (servers follow links, so the map ships): removed, its target recorded for unseal",
            crate::sanitize::truncate(target, 160)
        ),
        Change::DebugId { kind } => format!(
            "{} appended after the last line",
            if *kind == RewriteKind::DebugIdSnippet {
                "Sentry snippet and //# debugId comment"
            } else {
                "//# debugId comment"
            }
        ),
        Change::Rehash { kind, from, to } => {
            let what = if *kind == RewriteKind::Integrity {
                "integrity"
            } else {
                "ngsw.json hash"
            };
            format!("{what} {from} → {to}")
        }
    }
}

fn target_name(t: TargetKind) -> &'static str {
    match t {
        TargetKind::Inside => "moved to the vault",
        TargetKind::Missing => "no such file in the dist",
        TargetKind::NotAMap => "not a source map, left in place",
        TargetKind::Outside => "outside the dist, not touched",
        TargetKind::Absolute => "absolute URL, not fetched",
        TargetKind::Inline => "inline",
        TargetKind::Empty => "empty URL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_the_contract_shape() {
        let a = ActionRecord {
            path: "a.js".into(),
            line: Some(2),
            change: Change::Strip {
                url: ShownUrl::Text("a.js.map".into()),
                len: 29,
                target: TargetKind::Inside,
                replaced_by: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&a).ok().as_deref(),
            Some(
                r#"{"path":"a.js","action":"strip","line":2,"detail":"sourceMappingURL=a.js.map (29 bytes; target: moved to the vault)"}"#
            )
        );
        let d = ActionRecord {
            path: "maps".into(),
            line: None,
            change: Change::RemoveDir,
        };
        assert_eq!(
            serde_json::to_string(&d).ok().as_deref(),
            Some(r#"{"path":"maps","action":"remove-dir","detail":"empty once its maps moved"}"#)
        );
    }
}
