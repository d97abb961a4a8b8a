//! The status server over a real (plugin-less) pipeline: routes, status codes, formats.

use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

/// One test at a time: the first checks that a stopped server's port refuses connections,
/// which a socket bound meanwhile by the other (on a kernel-chosen port) could reuse.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn pipeline() -> engine::Pipeline {
    let config = engine::config::Config::parse("{}", "empty.json").unwrap();
    engine::run_with(&engine::Registry::new(), &config).unwrap()
}

fn request(method: &str, addr: SocketAddr, path: &str) -> (u16, String, String) {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let url = format!("http://{addr}{path}");
    let mut resp = match method {
        "GET" => agent.get(&url).call(),
        "HEAD" => agent.head(&url).call(),
        "POST" => agent.post(&url).send_empty(),
        _ => unreachable!(),
    }
    .unwrap();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.body_mut().read_to_string().unwrap();
    (resp.status().as_u16(), content_type, body)
}

#[test]
fn routes_answer_with_their_formats_and_codes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = pipeline();
    let g = p.gauges();
    let server = status::serve("127.0.0.1:0", move || g.snapshot()).unwrap();
    let addr = server.address();
    assert_ne!(addr.port(), 0, "the real port");

    let (code, ct, body) = request("GET", addr, "/metrics?from=test");
    assert_eq!(
        (code, ct.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    // Each family: HELP, TYPE, then its samples.
    let lines: Vec<&str> = body.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "# TYPE hekad_decoded_total counter")
        .expect(&body);
    assert!(lines[at - 1].starts_with("# HELP hekad_decoded_total "));
    assert_eq!(lines[at + 1], r#"hekad_decoded_total{owner="decode"} 0"#);
    assert!(lines.contains(&"hekad_ring_published -1"), "{body}");
    assert!(
        lines.contains(&r#"hekad_stage_lag{stage="route"} 0"#),
        "{body}"
    );
    for l in lines.iter().filter(|l| l.starts_with("# TYPE ")) {
        let name = l.split_whitespace().nth(2).unwrap();
        let types = lines
            .iter()
            .filter(|x| x.starts_with(&format!("# TYPE {name} ")))
            .count();
        assert_eq!(types, 1, "{name} declared once");
    }

    let (code, ct, body) = request("GET", addr, "/status.json");
    assert_eq!((code, ct.as_str()), (200, "application/json"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["stages"][0]["name"], "decode");
    assert_eq!(doc["stages"][1]["rank"], "route");
    assert_eq!(doc["counters"]["route"]["routed"], 0);
    assert_eq!(doc["balance"], true);
    assert_eq!(doc["in_flight"], 0);

    let (code, ct, body) = request("GET", addr, "/");
    assert_eq!((code, ct.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.contains("status.json"), "the page polls status.json");
    assert_eq!(request("HEAD", addr, "/health").0, 200);
    assert_eq!(request("GET", addr, "/missing").0, 404);
    assert_eq!(request("POST", addr, "/metrics").0, 405);
    assert_eq!(request("GET", addr, "/health").2, "ok\n");

    p.stop();
    assert_eq!(
        request("GET", addr, "/health"),
        (503, "text/plain; charset=utf-8".into(), "stopping\n".into())
    );
    p.wait();
    server.stop();
    // tiny_http's accept thread (not ours to join) closes the listener once woken: allow
    // it a bounded moment on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the socket is closed after stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_address_in_use_is_a_bind_error() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let p = pipeline();
    let g = p.gauges();
    let err = status::serve(&addr, move || g.snapshot()).unwrap_err();
    assert!(matches!(err, status::StatusError::Bind { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("http: cannot listen on"),
        "{err}"
    );
    p.stop();
    p.wait();
}
