//! Table tests for the matcher: precedence, every operator on every header, regexes, fields
//! of each value type, NIL, and compile errors with their exact columns.

use std::cmp::Ordering;

use super::{Matcher, MatcherError, MAX_DEPTH};
use crate::Message;

const UUID: [u8; 16] = [
    0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83, 0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9, 0xfa,
];
/// 2026-11-25T03:58:00.105194Z
const TS: i64 = 1_795_579_080_105_194_000;

fn message() -> Message {
    let mut m = Message {
        uuid: UUID,
        timestamp: TS,
        ..Message::default()
    };
    m.msg_type.push_str("nginx.access");
    m.logger.push_str("edge");
    m.severity = 3;
    m.payload.push_str("GET /index.html 200");
    m.env_version.push_str("0.8");
    m.pid = 4242;
    m.hostname.push_str("web-01.example.com");
    let f = m.add_field().unwrap();
    f.name.push_str("host");
    f.values.push_string().push_str("web-01");
    let f = m.add_field().unwrap();
    f.name.push_str("status");
    f.values.push_integer(200);
    let f = m.add_field().unwrap();
    f.name.push_str("latency");
    f.values.push_double(0.25);
    let f = m.add_field().unwrap();
    f.name.push_str("cached");
    f.values.push_bool(true);
    let f = m.add_field().unwrap();
    f.name.push_str("raw");
    f.values.push_bytes().extend_from_slice(b"\xffabc");
    let f = m.add_field().unwrap();
    f.name.push_str("tags");
    f.values.push_string().push('a');
    f.values.push_string().push('b');
    let f = m.add_field().unwrap();
    f.name.push_str("host");
    f.values.push_string().push_str("web-02");
    let f = m.add_field().unwrap();
    f.name.push_str("big");
    f.values.push_integer((1 << 53) + 1);
    let f = m.add_field().unwrap();
    f.name.push_str("odd name.with");
    f.values.push_integer(1);
    let f = m.add_field().unwrap();
    f.name.push_str("empty");
    f.values.reset(crate::ValueType::String);
    m
}

#[track_caller]
fn check(cases: &[(&str, bool)]) {
    let msg = message();
    for &(expr, want) in cases {
        let m = Matcher::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(m.matches(&msg), want, "{expr}");
    }
}

fn holds(op: &str, ord: Ordering) -> bool {
    match op {
        "==" => ord == Ordering::Equal,
        "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">" => ord == Ordering::Greater,
        ">=" => ord != Ordering::Less,
        _ => unreachable!(),
    }
}

const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

#[test]
fn every_operator_on_every_header() {
    // (variable, a literal below the message's value, equal to it, above it)
    let headers: &[(&str, [&str; 3])] = &[
        ("Type", ["'nginx.a'", "'nginx.access'", "'nginx.b'"]),
        ("Logger", ["\"edg\"", "\"edge\"", "\"edgf\""]),
        ("Payload", ["'GET /'", "'GET /index.html 200'", "'POST'"]),
        ("Hostname", ["'web-00'", "'web-01.example.com'", "'web-1'"]),
        ("EnvVersion", ["'0.7'", "'0.8'", "'0.9'"]),
        (
            "Uuid",
            [
                "'0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f9'",
                "'0b1c2d3e-4f50-6172-8394-a5b6c7d8e9fa'",
                "'0b1c2d3e-4f50-6172-8394-a5b6c7d8e9fb'",
            ],
        ),
        ("Severity", ["2", "3", "4"]),
        ("Pid", ["4241.5", "4242", "4.243e3"]),
        (
            "Timestamp",
            [
                "1795579080105193999",
                "1795579080105194000",
                "1795579080105194001",
            ],
        ),
        (
            "Timestamp",
            [
                "'2026-11-25T03:58:00Z'",
                "'2026-11-25T04:58:00.105194+01:00'",
                "\"2026-11-25T03:58:00.1051941Z\"",
            ],
        ),
    ];
    let msg = message();
    let mut n = 0;
    for (var, lits) in headers {
        // lowercase aliases behave the same
        for name in [var.to_string(), var.to_lowercase()] {
            for (lit, ord) in lits
                .iter()
                .zip([Ordering::Greater, Ordering::Equal, Ordering::Less])
            {
                for op in OPS {
                    let expr = format!("{name} {op} {lit}");
                    let m = Matcher::compile(&expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
                    assert_eq!(m.matches(&msg), holds(op, ord), "{expr}");
                    n += 1;
                }
            }
        }
    }
    // "0.10" < "0.8" byte-wise: strings never compare as numbers.
    check(&[
        ("EnvVersion > '0.10'", true),
        ("env_version == '0.8'", true),
    ]);
    assert_eq!(n, 360);
}

#[test]
fn precedence_and_grouping() {
    check(&[
        ("TRUE", true),
        ("FALSE", false),
        ("true || false", true),
        // && binds tighter than ||, on either side
        ("FALSE && TRUE || TRUE", true),
        ("TRUE || TRUE && FALSE", true),
        ("TRUE || FALSE && FALSE", true),
        ("FALSE || TRUE && FALSE", false),
        ("(TRUE || TRUE) && FALSE", false),
        ("FALSE && (FALSE || TRUE)", false),
        ("(FALSE || TRUE) && (TRUE || FALSE)", true),
        ("((((TRUE))))", true),
        ("(TRUE && (FALSE || (TRUE && TRUE)))", true),
        ("TRUE && TRUE && TRUE && FALSE", false),
        ("FALSE || FALSE || FALSE || TRUE", true),
        // DESIGN.md section 6's example, lower case
        ("type == \"nginx.access\" && severity <= 4", true),
        ("type == \"nginx.access\" && severity <= 2", false),
        (
            "(Severity == 7 || Payload == 'GET /index.html 200') && Type == 'nginx.access'",
            true,
        ),
        ("Type == 'x' || Severity < 4 && Pid == 4242", true),
        ("(Type == 'x' || Severity < 4) && Pid == 1", false),
        // whitespace is optional between tokens, and newlines are whitespace
        ("Severity<4&&Pid>=4242", true),
        ("Severity < 4\n&& Pid == 4242", true),
    ]);
}

#[test]
fn regexes() {
    check(&[
        ("Type =~ /^nginx\\./", true),
        ("Type !~ /^nginx\\./", false),
        ("Type =~ /access$/", true),
        ("Type =~ /^access/", false),
        ("Payload =~ /GET \\/index/", true),
        ("Payload =~ \"^GET /\\w+\\.html\"", true),
        ("Payload =~ '\\d{3}$'", true),
        ("Payload !~ '\\d{4}$'", true),
        ("Hostname =~ /(?i)^WEB-\\d+/", true),
        ("Logger =~ /^$/", false),
        ("Uuid =~ /^0b1c2d3e-/", true),
        ("EnvVersion =~ /^0\\.\\d$/", true),
        ("Fields[host] =~ /^web/", true),
        ("Fields[host][1] =~ /02$/", true),
        ("Fields[host][1] !~ /02$/", false),
        ("Fields[raw] =~ /abc$/", true),
        ("Fields[raw] =~ /^abc/", false),
        // a regex against a non-string field, or a missing one, is false either way
        ("Fields[status] =~ /200/", false),
        ("Fields[status] !~ /200/", false),
        ("Fields[missing] =~ /./", false),
        ("Fields[missing] !~ /./", false),
    ]);
}

#[test]
fn fields_of_each_type() {
    check(&[
        // strings
        ("Fields[host] == 'web-01'", true),
        ("Fields[host] != 'web-01'", false),
        ("Fields[host] < 'web-02'", true),
        ("Fields[host] >= 'web-01'", true),
        ("Fields[host][0] == 'web-01'", true),
        ("Fields[host][1] == 'web-02'", true),
        ("Fields[host][1][0] == 'web-02'", true),
        ("Fields[host][2] == 'web-03'", false),
        ("Fields[host] == 1", false),
        ("Fields[host] != 1", false),
        ("Fields[host] == TRUE", false),
        ("fields[host] == 'web-01'", true),
        // string lists: array index
        ("Fields[tags] == 'a'", true),
        ("Fields[tags][0][1] == 'b'", true),
        ("Fields[tags][0][2] == 'c'", false),
        // integers
        ("Fields[status] == 200", true),
        ("Fields[status] == 200.0", true),
        ("Fields[status] < 200.5", true),
        ("Fields[status] > 199.9", true),
        ("Fields[status] >= 2e2", true),
        ("Fields[status] <= -1", false),
        ("Fields[status] != 404", true),
        ("Fields[status] == '200'", false),
        ("Fields[status] != '200'", false),
        ("Fields[status] == TRUE", false),
        ("Fields[big] > 9007199254740992", true),
        ("Fields[big] == 9007199254740993", true),
        ("Fields[big] > 9007199254740992.0", true),
        // doubles
        ("Fields[latency] == 0.25", true),
        ("Fields[latency] < 1", true),
        ("Fields[latency] > 0", true),
        ("Fields[latency] <= .25", true),
        ("Fields[latency] >= 2.5e-1", true),
        ("Fields[latency] != 0.25", false),
        ("Fields[latency] == '0.25'", false),
        // bools
        ("Fields[cached] == TRUE", true),
        ("Fields[cached] == FALSE", false),
        ("Fields[cached] != FALSE", true),
        ("Fields[cached] != TRUE", false),
        ("Fields[cached] == true", true),
        ("Fields[cached] == 1", false),
        ("Fields[cached] == 'true'", false),
        // bytes
        ("Fields[raw] == '\\\\xffabc'", false),
        ("Fields[raw] > 'abc'", true),
        ("Fields[raw] != 'abc'", true),
        // names are everything up to `]`
        ("Fields[odd name.with] == 1", true),
        // missing fields are false for every comparison
        ("Fields[missing] == 'x'", false),
        ("Fields[missing] != 'x'", false),
        ("Fields[missing] < 1", false),
        ("Fields[missing] == TRUE", false),
        ("Fields[missing] != FALSE", false),
        ("Fields[empty] == ''", false),
    ]);
}

#[test]
fn nil() {
    check(&[
        ("Fields[host] == NIL", false),
        ("Fields[host] != NIL", true),
        ("Fields[missing] == NIL", true),
        ("Fields[missing] != NIL", false),
        ("Fields[host][1] != NIL", true),
        ("Fields[host][2] == NIL", true),
        ("Fields[tags][0][1] != NIL", true),
        ("Fields[tags][0][2] == NIL", true),
        ("Fields[empty] == NIL", true),
        ("Fields[cached] != nil", true),
        ("Fields[missing] == NIL && Fields[status] != NIL", true),
    ]);
}

#[test]
fn string_escapes() {
    let mut msg = Message::default();
    msg.payload.push_str("say \"hi\" it's a\\b\n\t|x\\d");
    for (expr, want) in [
        (r#"Payload == "say \"hi\" it's a\\b\n\t|x\d""#, true),
        (r#"Payload == 'say "hi" it\'s a\\b\n\t|x\d'"#, true),
        (r#"Payload =~ /it's a\\b/"#, true),
        (r#"Payload =~ /a\\b\n\t\|x\\d$/"#, true),
        (r"Payload =~ /\//", false),
    ] {
        assert_eq!(
            Matcher::compile(expr).unwrap().matches(&msg),
            want,
            "{expr}"
        );
    }
    msg.payload.clear();
    msg.payload.push_str("a/b");
    assert!(Matcher::compile(r"Payload =~ /^a\/b$/")
        .unwrap()
        .matches(&msg));
}

#[test]
fn defaults_of_an_empty_message() {
    let msg = Message::default();
    for (expr, want) in [
        ("Type == ''", true),
        ("Severity == 7", true),
        ("Pid == 0", true),
        ("Timestamp == 0", true),
        ("Timestamp == '1970-01-01T00:00:00Z'", true),
        ("Uuid == '00000000-0000-0000-0000-000000000000'", true),
        ("Fields[x] == NIL", true),
    ] {
        assert_eq!(
            Matcher::compile(expr).unwrap().matches(&msg),
            want,
            "{expr}"
        );
    }
}

#[test]
fn errors_name_the_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "expected an expression"),
        ("   ", 4, "expected an expression"),
        ("Type", 5, "expected an operator"),
        ("Type ==", 8, "expected a value"),
        ("Type = 'x'", 6, "expected `==` or `=~`"),
        ("Type == 'x' & Pid == 1", 13, "expected `&&`"),
        ("Type == 'x' | Pid == 1", 13, "expected `||`"),
        ("Type ! 'x'", 6, "expected `!=` or `!~`"),
        ("Type == 'x", 9, "unterminated string"),
        ("Type =~ /x", 9, "unterminated regex"),
        ("Type == 'x' Pid == 1", 13, "expected `&&`, `||` or the end"),
        ("Type == 'x')", 12, "unmatched `)`"),
        (
            "(Type == 'x'",
            13,
            "expected `)` to close the `(` at column 1",
        ),
        (
            "(TRUE && (FALSE)",
            17,
            "expected `)` to close the `(` at column 1",
        ),
        ("()", 2, "expected a variable, `TRUE`, `FALSE` or `(`"),
        ("TRUE &&", 8, "expected an expression"),
        ("|| TRUE", 1, "expected a variable, `TRUE`, `FALSE` or `(`"),
        ("Typo == 'x'", 1, "unknown variable `Typo`"),
        ("TRUE && NIL == 1", 9, "unknown variable `NIL`"),
        (
            "'x' == Type",
            1,
            "expected a variable, `TRUE`, `FALSE` or `(`",
        ),
        (
            "Type == Logger",
            9,
            "expected a value: a string, a number, TRUE, FALSE or NIL (variables go on the left)",
        ),
        (
            "Type Logger",
            6,
            "expected an operator: ==, !=, <, <=, >, >=, =~ or !~",
        ),
        (
            "Type == 1",
            9,
            "Type is a string; cannot compare it to a number",
        ),
        (
            "Logger < 1.5",
            10,
            "Logger is a string; cannot compare it to a number",
        ),
        (
            "Severity == 'high'",
            13,
            "Severity is a number; cannot compare it to a string",
        ),
        (
            "Pid == TRUE",
            8,
            "Pid is a number; cannot compare it to a bool",
        ),
        (
            "Type != FALSE",
            9,
            "Type is a string; cannot compare it to a bool",
        ),
        (
            "Severity =~ /1/",
            13,
            "Severity is a number; cannot compare it to a regex",
        ),
        (
            "Type == NIL",
            9,
            "Type always exists; NIL works on Fields only",
        ),
        ("type == /x/", 9, "a /regex/ needs `=~` or `!~`"),
        ("Type =~ 1", 9, "expected a /regex/ or a string"),
        ("Type =~", 8, "expected a regex"),
        (
            "Fields[x] < NIL",
            13,
            "NIL compares with `==` or `!=` only, not `<`",
        ),
        (
            "Fields[x] >= TRUE",
            14,
            "a bool compares with `==` or `!=` only, not `>=`",
        ),
        (
            "Timestamp > '2026-11-25'",
            13,
            "invalid RFC 3339 timestamp \"2026-11-25\"",
        ),
        ("Fields x", 7, "expected `[` after Fields"),
        ("Fields[] == 1", 7, "empty field name"),
        ("Fields[x == 1", 7, "unterminated `[`"),
        (
            "Fields[x][a] == 1",
            10,
            "expected `[` index `]` with a non-negative integer",
        ),
        (
            "Fields[x][0][-1] == 1",
            13,
            "expected `[` index `]` with a non-negative integer",
        ),
        (
            "Fields[x][99999999999999999999999] == 1",
            11,
            "index too large",
        ),
        ("Severity == 1x", 14, "unexpected character after a number"),
        (
            "Severity == 1.2.3",
            16,
            "unexpected character after a number",
        ),
        ("Severity == -", 13, "expected a number"),
        ("Severity == 1e", 13, "expected digits in the exponent"),
        ("Severity == @", 13, "unexpected character `@`"),
        ("Type == 'é' && Pid == @", 23, "unexpected character `@`"),
        ("Type =~ /(/", 9, "invalid regex: unclosed group"),
        (
            "Type =~ '[z-a]'",
            9,
            "invalid regex: invalid character class range, the start must be <= the end",
        ),
    ];
    for &(expr, column, message) in cases {
        let err = Matcher::compile(expr).expect_err(expr);
        assert_eq!(
            err,
            MatcherError {
                column,
                message: message.to_string()
            },
            "{expr}"
        );
        assert_eq!(err.to_string(), format!("column {column}: {message}"));
    }
}

#[test]
fn regex_size_is_limited() {
    let err = Matcher::compile("Payload =~ /\\w{1000}\\w{1000}/").unwrap_err();
    assert_eq!(err.column, 12);
    assert!(err.message.starts_with("regex too large"), "{err}");
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}TRUE{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Matcher::compile(&ok).unwrap().matches(&Message::default()));
    let deep = format!(
        "{}TRUE{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let err = Matcher::compile(&deep).unwrap_err();
    assert_eq!(err.column, MAX_DEPTH + 1);
    assert_eq!(
        err.message,
        format!("parentheses nested more than {MAX_DEPTH} deep")
    );
    // A hostile config: far deeper, must fail cleanly rather than overflow the stack.
    let hostile = "(".repeat(100_000);
    assert_eq!(
        Matcher::compile(&hostile).unwrap_err().column,
        MAX_DEPTH + 1
    );
}

#[test]
fn long_chains_do_not_recurse() {
    let chain = vec!["Severity == 3"; 100_000].join(" && ");
    assert!(Matcher::compile(&chain).unwrap().matches(&message()));
    let chain = vec!["Severity == 1"; 100_000].join(" || ");
    assert!(!Matcher::compile(&chain).unwrap().matches(&message()));
}

#[test]
fn display_and_clone_keep_the_source() {
    let m = Matcher::compile("Type == 'x'").unwrap();
    assert_eq!(m.to_string(), "Type == 'x'");
    assert_eq!(m.clone().as_str(), "Type == 'x'");
}

#[test]
fn matcher_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Matcher>();
}

mod prop {
    use proptest::prelude::*;

    use super::super::Matcher;

    proptest! {
        /// Any string compiles or fails with a column inside it (or one past the end).
        #[test]
        fn never_panics(expr in "\\PC{0,40}") {
            if let Err(e) = Matcher::compile(&expr) {
                prop_assert!(e.column >= 1 && e.column <= expr.chars().count() + 1);
            }
        }

        /// Token soup from the language itself.
        #[test]
        fn token_soup(parts in proptest::collection::vec(prop_oneof![
            Just("("), Just(")"), Just("&&"), Just("||"), Just("=="), Just("!="), Just("<"),
            Just(">="), Just("=~"), Just("!~"), Just("Type"), Just("Severity"),
            Just("Fields[a]"), Just("Fields[a][1][2]"), Just("'x'"), Just("/x/"), Just("3"),
            Just("-1.5e3"), Just("TRUE"), Just("NIL"), Just("Timestamp"),
        ], 0..24)) {
            let expr = parts.join(" ");
            match Matcher::compile(&expr) {
                Ok(m) => { m.matches(&super::message()); }
                Err(e) => prop_assert!(e.column >= 1 && e.column <= expr.chars().count() + 1),
            }
        }
    }
}
