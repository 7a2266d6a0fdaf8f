//! `verify https://…` on a hostile response: `remote::examine::examine` never panics whatever the
//! body, `Content-Type`, status and request role (picked by the first two bytes), and
//! - a probe is a leak only when `probes::judge` calls the body a map, and then exactly one;
//! - every request it asks for is http(s), without a fragment;
//! - the link extractors (HTML, JavaScript, CSS) accept the same bytes directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::remote::client::Response;
use mapvault::remote::examine::{Request, Role, examine};
use mapvault::remote::links::{self, Hint};
use mapvault::remote::{Via, probes};

const TYPES: &[Option<&str>] = &[
    Some("text/html; charset=utf-8"),
    Some("text/javascript"),
    Some("text/css"),
    Some("application/json"),
    Some("application/wasm"),
    Some("text/plain"),
    None,
];
const ROLES: &[Role] = &[
    Role::Entry,
    Role::Asset(Hint::Script),
    Role::Asset(Hint::Style),
    Role::Asset(Hint::Any),
    Role::Probe,
];
const STATUS: &[u16] = &[200, 200, 204, 404, 500];

fuzz_target!(|data: &[u8]| {
    let [a, b, body @ ..] = data else {
        return;
    };
    let url = url::Url::parse("https://fuzz.test/app/x.js?v=1").expect("a valid URL");
    let role = ROLES[*a as usize % ROLES.len()];
    let truncated = b & 0x80 != 0;
    let resp = Response {
        status: STATUS[(*b as usize >> 3) % STATUS.len()],
        location: None,
        content_type: TYPES[*b as usize % TYPES.len()].map(str::to_owned),
        source_map_headers: if b & 0x40 != 0 {
            vec![("SourceMap", String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned())]
        } else {
            Vec::new()
        },
        body: body.to_vec(),
        truncated,
    };
    let req = Request {
        url: url.clone(),
        role,
        via: Via::HtmlScript,
        page: url.clone(),
    };
    let e = examine(&req, &url, &resp, 1 << 20);
    if role == Role::Probe {
        let is_map = probes::judge(body, truncated).is_map();
        assert_eq!(e.leaks.len(), usize::from(is_map), "{e:?}");
    }
    for f in &e.follow {
        assert!(matches!(f.url.scheme(), "http" | "https"), "{}", f.url);
        assert!(f.url.fragment().is_none(), "{}", f.url);
    }
    let _ = links::html::extract(body);
    let _ = links::js::extract(body);
    let _ = links::css::extract(body);
});
