//! Live metrics of a real `hekad`: the HTTP status endpoint (`/metrics`, `/status.json`,
//! `/health`), the dashboard in headless Chromium, and the SIGUSR1 report.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tests::{json_datagram, report_line, send_paced, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// UDP in, JSON decode, a file out, and the status endpoint on `http` if given.
fn config(http: Option<&str>) -> String {
    let http = match http {
        Some(a) => format!(r#", "http": {{"address": "{a}"}}"#),
        None => String::new(),
    };
    format!(
        r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"name": "json", "type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log", "format": "text",
                 "flush_interval_ms": 100}}],
  "chains":   {{"default": {{"outputs": ["out"]}}}}{http}
}}"#
    )
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut resp = ureq::get(&format!("http://{addr}{path}"))
        .config()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().expect("utf-8 body");
    (status, body)
}

/// The samples of a Prometheus text page: `name{labels}` → value.
fn samples(page: &str) -> HashMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample line {l:?}"));
            (
                k.to_string(),
                v.parse().unwrap_or_else(|_| panic!("value in {l:?}")),
            )
        })
        .collect()
}

fn accepted(page: &HashMap<String, f64>) -> f64 {
    page[r#"hekad_accepted_total{owner="udp"}"#]
}

#[test]
fn metrics_rise_under_load_and_equal_the_final_counts_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(Some("127.0.0.1:0")));
    let udp = hekad.udp_addr("udp");
    let http = hekad.listen_addr("http", "http");
    assert_eq!(get(http, "/health"), (200, "ok\n".to_string()));
    assert_eq!(get(http, "/nope").0, 404);
    assert_eq!(
        tcp_listeners_of(hekad.pid()),
        1,
        "the status endpoint's listener"
    );

    const N: u64 = 40_000;
    let sender = thread::spawn(move || send_paced(udp, N, 10_000, json_datagram));
    let scrape = || {
        let (status, page) = get(http, "/metrics");
        assert_eq!(status, 200);
        page
    };
    // Bounded waits for the counters to move under load.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let s = samples(&scrape());
        if accepted(&s) > 0.0 || Instant::now() > deadline {
            break s;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert!(accepted(&first) > 0.0, "nothing accepted under load");
    let second = loop {
        thread::sleep(Duration::from_millis(300));
        let s = samples(&scrape());
        if accepted(&s) > accepted(&first) || Instant::now() > deadline {
            break s;
        }
    };
    assert!(
        accepted(&second) > accepted(&first),
        "hekad_accepted_total rises between scrapes"
    );
    let page = scrape();
    for line in [
        "# TYPE hekad_accepted_total counter",
        "# HELP hekad_delivered_total ",
        "# TYPE hekad_ring_occupancy gauge",
        "# TYPE hekad_stage_lag gauge",
    ] {
        assert!(page.contains(line), "{line:?} missing:\n{page}");
    }
    let s = samples(&page);
    assert_eq!(s["hekad_ring_slots"], 1024.0);
    assert!(s["hekad_ring_occupancy"] <= 1024.0);
    assert!(s["process_resident_memory_bytes"] > 0.0);
    assert!(s.contains_key(r#"hekad_stage_lag{stage="out"}"#), "{page}");

    let (status, body) = get(http, "/status.json");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("status.json parses");
    assert_eq!(doc["ring"]["size"], 1024);
    assert_eq!(doc["stopping"], false);
    let stages: Vec<(&str, &str)> = doc["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["rank"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [
            ("udp", "input"),
            ("decode", "decode"),
            ("route", "route"),
            ("out", "output")
        ]
    );
    assert!(doc["counters"]["udp"]["accepted"].as_f64().unwrap() >= accepted(&s));

    assert_eq!(sender.join().unwrap(), N);
    // Quiescent once the file output has committed every accepted message: from then on
    // the scrape must equal the final report, counter for counter.
    let counter = |s: &HashMap<String, f64>, owner: &str, name: &str| {
        s.get(&format!("hekad_{name}_total{{owner=\"{owner}\"}}"))
            .copied()
            .unwrap_or_else(|| panic!("hekad_{name}_total{{owner={owner:?}}} not scraped"))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let s = samples(&scrape());
        let accepted = counter(&s, "udp", "accepted");
        let settled = counter(&s, "out", "delivered") == accepted
            && accepted + counter(&s, "udp", "kernel_drops") == N as f64;
        if settled || Instant::now() > deadline {
            break s;
        }
        thread::sleep(Duration::from_millis(100));
    };
    for (owner, name) in [
        ("udp", "accepted"),
        ("decode", "decoded"),
        ("out", "delivered"),
    ] {
        assert!(
            counter(&last, owner, name) > counter(&first, owner, name),
            "{owner}.{name} rose under load"
        );
    }
    let hekad = hekad.stop_gracefully();

    // Every counter of the last scrape equals its final value.
    let mut compared = 0;
    for (key, v) in &last {
        let Some(rest) = key.strip_prefix("hekad_") else {
            continue;
        };
        let Some((name, owner)) = rest.split_once("_total{owner=\"") else {
            continue;
        };
        let owner = owner.trim_end_matches("\"}");
        let fin = hekad
            .final_count(owner, name)
            .unwrap_or_else(|| panic!("{owner}.{name} missing from the final report"));
        assert_eq!(*v, fin as f64, "{key} scraped at rest vs the final report");
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} counters compared");
    let fin_accepted = hekad.final_count("udp", "accepted").unwrap();
    let drops = hekad.final_count("udp", "kernel_drops").unwrap();
    assert_eq!(fin_accepted + drops, N, "every datagram sent is counted");
    assert_eq!(drops, 0, "10k msg/s is sustainable");
    assert_eq!(hekad.final_count("out", "delivered"), Some(N));
}

#[test]
fn http_is_off_without_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(None));
    hekad.udp_addr("udp");
    let listening = tcp_listeners_of(hekad.pid());
    let hekad = hekad.stop_gracefully();
    assert!(
        !hekad.stderr().iter().any(|l| l.contains("listening http")),
        "{:#?}",
        hekad.stderr()
    );
    assert_eq!(listening, 0, "hekad listens on TCP without an http section");
}

/// How many listening TCP sockets process `pid` holds: its socket fds' inodes looked up in
/// `/proc/net/tcp{,6}` (state `0A` is LISTEN).
fn tcp_listeners_of(pid: u32) -> usize {
    let mut inodes = std::collections::HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let target = std::fs::read_link(fd.unwrap().path()).unwrap_or_default();
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    assert!(!inodes.is_empty(), "hekad holds its UDP socket");
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.get(3) == Some(&"0A") && cols.get(9).is_some_and(|i| inodes.contains(*i)) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn health_stays_ok_through_a_reload_and_a_changed_http_section_waits_for_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(Some("127.0.0.1:0")));
    let http = hekad.listen_addr("http", "http");
    std::fs::write(dir.path().join("hekad.json"), config(None)).unwrap();
    hekad.signal("HUP");
    let warned = hekad.wait_for_stderr("the http section changed", Duration::from_secs(20));
    assert!(warned.is_some(), "{:#?}", hekad.stderr());
    assert_eq!(get(http, "/health"), (200, "ok\n".to_string()));
    hekad.stop_gracefully();
}

#[test]
fn a_bad_http_address_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(Some("nowhere")));
    let status = hekad
        .wait_exit(Duration::from_secs(30))
        .expect("hekad exits");
    assert_eq!(status.code(), Some(1));
    let err = hekad.stderr().join("\n");
    assert!(
        err.contains("hekad.json:")
            && err.contains(": http.address: \"nowhere\" is not a host:port"),
        "{err}"
    );
    // `hekad validate` says the same without starting anything.
    let out = Command::new(BIN)
        .arg("validate")
        .arg(dir.path().join("hekad.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("http.address: \"nowhere\" is not a host:port"),
        "{err}"
    );
}

/// The Chromium binary: `HEKAD_CHROMIUM`, else the first of the usual names on `PATH`.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("HEKAD_CHROMIUM") {
        return p.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("headless Chromium is needed: apt-get install chromium (.ci/run installs it)");
}

/// Loads `url` in headless Chromium for `budget_ms` of virtual time (the page's timers run
/// fast; its fetches are real), saves a screenshot to `png` and returns the DOM. Killed
/// after 60 s of real time.
fn load_in_chromium(url: &str, png: &Path, budget_ms: u32) -> String {
    let profile = tempfile::tempdir().unwrap();
    let dom = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1100,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(dom.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap_or(());
            child.wait().unwrap();
            panic!("chromium did not finish within 60 s");
        }
        thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(dom.path()).unwrap()
}

/// The `data-<attr>` value of the element with `id`.
fn data_attr<'a>(dom: &'a str, id: &str, attr: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag = &dom[at..at + dom[at..].find('>')?];
    let key = format!("data-{attr}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    Some(&v[..v.find('"')?])
}

/// Whether a `<polyline>` element of series `name` is in `dom`.
fn polyline_of(dom: &str, name: &str) -> bool {
    let attr = format!("data-series=\"{name}\"");
    dom.split("<polyline").skip(1).any(|tag| {
        tag.split('>')
            .next()
            .is_some_and(|attrs| attrs.contains(&attr))
    })
}

/// The highest value plotted for series `name` (its legend's `data-peak`).
fn plotted_peak(dom: &str, name: &str) -> Option<f64> {
    let at = dom.find(&format!("data-series=\"{name}\" data-value=\""))?;
    let tag = &dom[at..at + dom[at..].find('>')?];
    let key = "data-peak=\"";
    let v = &tag[tag.find(key)? + key.len()..];
    v[..v.find('"')?].parse().ok()
}

#[test]
fn dashboard_plots_a_nonzero_rate_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(Some("127.0.0.1:0")));
    let udp = hekad.udp_addr("udp");
    let http = hekad.listen_addr("http", "http");
    let (status, page) = get(http, "/");
    assert_eq!(status, 200);
    // Self-contained: no URL but the SVG namespace, no src/href/url()/@import.
    let outside = page.replace("\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", "src=", "href=", "url(", "@import"] {
        assert!(!outside.contains(needle), "the dashboard loads {needle:?}");
    }

    // Steady load until the page has seen it.
    let done = Arc::new(AtomicBool::new(false));
    let sending = done.clone();
    let sender = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(240);
        while !sending.load(Ordering::Relaxed) && Instant::now() < deadline {
            send_paced(udp, 200, 4_000, json_datagram);
        }
    });
    let png = dir.path().join("dashboard.png");
    let url = format!("http://{http}/");
    let mut rate = 0.0;
    let mut dom = String::new();
    for _attempt in 0..4 {
        dom = load_in_chromium(&url, &png, 6_000);
        rate = data_attr(&dom, "rate-total", "rate")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0.0);
        if rate > 0.0 && plotted_peak(&dom, "out (output)").is_some_and(|v| v > 0.0) {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    hekad.stop_gracefully();

    assert!(rate > 0.0, "no input rate on the dashboard; DOM:\n{dom}");
    // One plotted line per input and per output, and the ring's occupancy; under load the
    // input's and the output's lines rise above zero (the output's count moves only at
    // its commits, so its latest point alone may be 0).
    for series in ["udp (input)", "out (output)", "occupancy"] {
        assert!(
            polyline_of(&dom, series),
            "no plotted line {series:?}; DOM:\n{dom}"
        );
    }
    for series in ["udp (input)", "out (output)"] {
        let v = plotted_peak(&dom, series).unwrap_or_else(|| panic!("{series} legend; {dom}"));
        assert!(
            v > 0.0,
            "{series} plotted at most {v} msg/s under load; DOM:\n{dom}"
        );
    }
    let shot = std::fs::read(&png).expect("screenshot saved");
    assert!(
        shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000,
        "a real PNG screenshot ({} bytes)",
        shot.len()
    );
}

/// `  <name> <last> | <overall>` rates after `counter` in a stage line.
fn rates(l: &str, counter: &str) -> (f64, f64) {
    let rest = &l[l.find(&format!(" {counter} ")).expect(counter) + counter.len() + 2..];
    let mut it = rest.split(['|', ',', ';']);
    let last = it.next().unwrap().trim().parse().unwrap();
    let overall = it.next().unwrap().trim().parse().unwrap();
    (last, overall)
}

#[test]
fn sigusr1_reports_rates_lag_ring_drops_errors_and_rss() {
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config(None));
    let udp = hekad.udp_addr("udp");
    send_paced(udp, 1000, 20_000, json_datagram);
    tests::wait_line(
        &dir.path().join("out.log"),
        "seq=0000000999",
        Duration::from_secs(20),
    )
    .expect("all 1000 written");
    hekad.signal("USR1");
    let reports = hekad.wait_usr1_reports(1, Duration::from_secs(10));
    assert_eq!(reports.len(), 1, "{:#?}", hekad.stderr());
    let r = &reports[0];
    // The counts lines are the final report's.
    assert!(
        report_line(r, "  udp: ").contains(" accepted=1000"),
        "{r:#?}"
    );
    assert!(report_line(r, "  balance: ").ends_with(": ok"), "{r:#?}");
    // Rates: nothing earlier, so the last interval is the whole uptime.
    let header = report_line(r, "  rates in msg/s, last ");
    let secs: Vec<f64> = header
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(secs.len(), 2, "{header}");
    assert_eq!(secs[0], secs[1], "first report: last interval = uptime");
    let (last, overall) = rates(report_line(r, "    udp: "), "accepted");
    assert!(last > 0.0 && last == overall, "{r:#?}");
    // Quiescent: every consumer finished the 1000th message (sequence 999).
    for stage in ["decode", "route", "out"] {
        let l = report_line(r, &format!("    {stage}: "));
        assert!(l.ends_with("; seq 999 lag 0"), "{l}");
    }
    assert_eq!(
        report_line(r, "  ring: "),
        "  ring: 1024 slots, published 999, occupancy 0 (0.0%)"
    );
    assert!(
        report_line(r, "  drops: 0 ").contains(" udp.kernel_drops=0"),
        "{r:#?}"
    );
    assert!(
        report_line(r, "  errors: 0 ").contains(" decode.decode_errors=0"),
        "{r:#?}"
    );
    let rss: f64 = report_line(r, "  rss: ")
        .trim_start_matches("  rss: ")
        .trim_end_matches(" MiB")
        .parse()
        .unwrap();
    assert!(rss > 0.0, "{r:#?}");

    // A second report: rates since the first one; nothing sent in between.
    thread::sleep(Duration::from_millis(200));
    hekad.signal("USR1");
    let reports = hekad.wait_usr1_reports(2, Duration::from_secs(10));
    assert_eq!(reports.len(), 2, "{:#?}", hekad.stderr());
    let r = &reports[1];
    let header = report_line(r, "  rates in msg/s, last ");
    let secs: Vec<f64> = header
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(secs[0] < secs[1], "{header}");
    let (last, overall) = rates(report_line(r, "    udp: "), "accepted");
    assert_eq!(last, 0.0, "nothing since the first report: {r:#?}");
    assert!(overall > 0.0);
    hekad.stop_gracefully();
}
