//! The web console against the real `auditlog serve`, without a browser (the browser tests
//! are .ci/test.d/50-browser): a viewer link minted by `auditlog token viewer` while the
//! server runs opens a reader session of its tenant once and never again, even after a
//! restart; the session sees only that tenant; a sign-in form posted from another origin is
//! refused; every page carries the strict Content-Security-Policy; event text (script tags,
//! RTL overrides) is escaped in the HTML.

mod server_support;

use serde_json::json;
use server_support::{BIN, Response, Server, event, request, token};
use std::net::SocketAddr;
use std::process::Command;

fn mint(dir: &std::path::Path, tenant: &str, base: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "viewer", "--dir"])
        .arg(dir)
        .args(["--tenant", tenant, "--ttl", "15m", "--base-url", base])
        .output()
        .expect("runs token viewer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Response {
    let headers: Vec<(String, String)> = cookie
        .map(|c| vec![("Cookie".to_string(), c.to_string())])
        .unwrap_or_default();
    request(addr, "GET", path, &headers, b"")
}

/// The `name=value` of the session cookie an answer sets.
fn session_cookie(r: &Response) -> String {
    let set = r.header("set-cookie").expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().expect("name=value").to_string()
}

#[test]
fn a_viewer_link_opens_one_tenant_once_and_pages_escape_event_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let server = Server::start(dir.path(), &[]);
    let hostile = "<script>alert(1)</script>\u{202e}txt.exe";
    let events = json!([
        event(hostile, "order.update", Some("acme")),
        event("mallory", "globex.only", Some("globex")),
    ]);
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        events.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let base = format!("http://{}", server.addr);
    let url = mint(dir.path(), "acme", &base);
    let path = url.strip_prefix(&base).expect("on this server").to_string();
    assert!(path.starts_with("/console/link/alv_"), "{url}");

    let opened = get(server.addr, &path, None);
    assert_eq!(opened.status, 303);
    assert_eq!(opened.header("location"), Some("/console/events"));
    let cookie = session_cookie(&opened);
    let again = get(server.addr, &path, None);
    assert_eq!(again.status, 410, "a link opens once");
    assert!(
        again
            .header("set-cookie")
            .is_none_or(|c| c.contains("Max-Age=0"))
    );

    let page = get(server.addr, "/console/events", Some(&cookie));
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]txt.exe"));
    assert!(!html.contains("<script>alert"), "no event text unescaped");
    assert!(!html.contains('\u{202e}'));
    assert!(
        !html.contains("globex.only"),
        "another tenant's record is not shown"
    );
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(i, _)| &html[i..])
        .collect();
    assert!(
        scripts
            .iter()
            .all(|s| s.starts_with("<script type=\"module\" src=\"/console/assets/")),
        "no inline script"
    );
    let other = get(server.addr, "/console/events?tenant=globex", Some(&cookie));
    assert!(
        other.text().contains("may not read tenant"),
        "{}",
        other.text()
    );
    assert_eq!(
        get(server.addr, "/console/events/1", Some(&cookie)).status,
        404
    );
    let no_session = get(server.addr, "/console/events", None);
    assert_eq!(no_session.status, 303);

    // A restart forgets sessions but not that the link was used.
    server.stop();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(get(server.addr, &path, None).status, 410);
    assert_eq!(
        get(server.addr, "/console/events", Some(&cookie)).status,
        303,
        "sessions do not outlive the process"
    );
    server.stop();
}

#[test]
fn sign_in_needs_a_reading_token_and_a_same_origin_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auditor = token(dir.path(), "auditor", &[]);
    let writer = token(dir.path(), "writer", &[]);
    let admin = token(dir.path(), "admin", &[]);
    let server = Server::start(dir.path(), &[]);
    let origin = format!("http://{}", server.addr);
    let post = |secret: &str, origin: Option<&str>| {
        let mut headers = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        if let Some(o) = origin {
            headers.push(("Origin".to_string(), o.to_string()));
        }
        let body = format!("token={secret}");
        request(
            server.addr,
            "POST",
            "/console/sign-in",
            &headers,
            body.as_bytes(),
        )
    };
    assert_eq!(post(&auditor, Some("http://evil.example")).status, 403);
    assert_eq!(post(&auditor, None).status, 403, "no Origin, no Referer");
    assert_eq!(
        post(&writer, Some(&origin)).status,
        403,
        "a writer reads nothing"
    );
    assert_eq!(post("alt_00000000_00", Some(&origin)).status, 401);
    let ok = post(&auditor, Some(&origin));
    assert_eq!(ok.status, 303);
    let cookie = session_cookie(&ok);
    assert_eq!(
        get(server.addr, "/console/dashboard", Some(&cookie)).status,
        200
    );

    // The admin endpoint: admins only, a bounded TTL.
    let mint = |secret: &str, body: &str| {
        server.post(
            "/v1/viewer-links",
            secret,
            "application/json",
            body.as_bytes(),
        )
    };
    let minted = mint(&admin, r#"{"tenant":"acme","ttl":"2m"}"#);
    assert_eq!(minted.status, 201, "{}", minted.text());
    let url = minted.json()["url"].as_str().expect("a url").to_string();
    assert!(
        url.starts_with(&format!("{origin}/console/link/alv_")),
        "{url}"
    );
    mint(&auditor, r#"{"tenant":"acme"}"#).problem(403, "forbidden");
    mint(&admin, r#"{"tenant":"acme","ttl":"2d"}"#).problem(400, "bad-parameter");
    mint(&admin, r#"{"ttl":"2m"}"#).problem(400, "malformed-json");
    server.stop();
}
