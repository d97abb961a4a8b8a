//! The compiled form of a matcher and its evaluation against a message.
//!
//! A matcher is a tree of n-ary `&&`/`||` nodes over typed tests. Its depth is bounded by the
//! parser's parenthesis limit, so evaluating it recursively cannot overflow the stack.

use std::cmp::Ordering;

use regex::bytes::Regex;

use crate::{Field, Message, Values};

/// A node of a compiled matcher.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// True when every child is (evaluated left to right, stopping at the first false).
    All(Box<[Node]>),
    /// True when some child is (evaluated left to right, stopping at the first true).
    Any(Box<[Node]>),
    /// A leaf.
    Test(Test),
}

impl Node {
    pub(super) fn eval(&self, msg: &Message) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.eval(msg)),
            Node::Any(nodes) => nodes.iter().any(|n| n.eval(msg)),
            Node::Test(t) => t.eval(msg),
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// Applies the operator to an ordering; `None` (an unordered comparison, NaN) is false
    /// for every operator but `!=`.
    #[inline]
    fn holds(self, ord: Option<Ordering>) -> bool {
        match (self, ord) {
            (CmpOp::Ne, None) => true,
            (_, None) => false,
            (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
            (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
            (CmpOp::Lt, Some(o)) => o == Ordering::Less,
            (CmpOp::Le, Some(o)) => o != Ordering::Greater,
            (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
            (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        }
    }

    /// The operator as written.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A numeric literal: exact when it is an integer that fits `i64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    /// How `lhs` compares to this literal.
    #[inline]
    fn cmp_int(self, lhs: i64) -> Option<Ordering> {
        match self {
            Number::Int(r) => Some(lhs.cmp(&r)),
            Number::Float(r) => cmp_i64_f64(lhs, r),
        }
    }

    /// How `lhs` compares to this literal.
    #[inline]
    fn cmp_float(self, lhs: f64) -> Option<Ordering> {
        match self {
            Number::Int(r) => cmp_i64_f64(r, lhs).map(Ordering::reverse),
            Number::Float(r) => lhs.partial_cmp(&r),
        }
    }
}

/// Compares an integer with a float exactly (no rounding of the integer to f64).
fn cmp_i64_f64(i: i64, f: f64) -> Option<Ordering> {
    // 2^63 as f64: every finite f64 below it and at least -2^63 truncates into i64 exactly.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => (0.0).partial_cmp(&(f - t)),
        o => Some(o),
    }
}

/// A header whose value is a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StrVar {
    Type,
    Logger,
    Payload,
    Hostname,
    EnvVersion,
    Uuid,
}

/// A header whose value is an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IntVar {
    Severity,
    Pid,
    Timestamp,
}

/// What a test does with a string.
#[derive(Clone, Debug)]
pub(super) enum StrPred {
    Cmp(CmpOp, Box<str>),
    Regex { re: Regex, negate: bool },
}

impl StrPred {
    #[inline]
    fn test(&self, s: &[u8]) -> bool {
        match self {
            StrPred::Cmp(op, lit) => op.holds(Some(s.cmp(lit.as_bytes()))),
            StrPred::Regex { re, negate } => re.is_match(s) != *negate,
        }
    }
}

/// What a test does with a field's value.
#[derive(Clone, Debug)]
pub(super) enum FieldPred {
    /// Strings and bytes only.
    Str(StrPred),
    /// Integers and doubles only.
    Num(CmpOp, Number),
    /// Bools only: `==` (`eq`) or `!=` (`!eq`) the literal.
    Bool { eq: bool, value: bool },
    /// Whether the value exists (`== NIL` is `exists: false`).
    Nil { exists: bool },
}

/// One comparison.
#[derive(Clone, Debug)]
pub(super) enum Test {
    Const(bool),
    Str(StrVar, StrPred),
    Int(IntVar, CmpOp, Number),
    Field {
        name: Box<str>,
        field_index: usize,
        array_index: usize,
        pred: FieldPred,
    },
}

impl Test {
    #[inline]
    fn eval(&self, msg: &Message) -> bool {
        match self {
            Test::Const(b) => *b,
            Test::Str(var, pred) => match var {
                StrVar::Type => pred.test(msg.msg_type.as_bytes()),
                StrVar::Logger => pred.test(msg.logger.as_bytes()),
                StrVar::Payload => pred.test(msg.payload.as_bytes()),
                StrVar::Hostname => pred.test(msg.hostname.as_bytes()),
                StrVar::EnvVersion => pred.test(msg.env_version.as_bytes()),
                StrVar::Uuid => pred.test(&uuid_string(&msg.uuid)),
            },
            Test::Int(var, op, lit) => {
                let v = match var {
                    IntVar::Severity => i64::from(msg.severity),
                    IntVar::Pid => i64::from(msg.pid),
                    IntVar::Timestamp => msg.timestamp,
                };
                op.holds(lit.cmp_int(v))
            }
            Test::Field {
                name,
                field_index,
                array_index,
                pred,
            } => {
                let field = nth_field(msg, name, *field_index);
                field_test(field, *array_index, pred)
            }
        }
    }
}

/// The `n`-th field called `name`.
#[inline]
fn nth_field<'m>(msg: &'m Message, name: &str, n: usize) -> Option<&'m Field> {
    let mut fields = msg.fields.as_slice().iter().filter(|f| f.name == name);
    fields.nth(n)
}

fn field_test(field: Option<&Field>, i: usize, pred: &FieldPred) -> bool {
    let values = field.map(|f| f.values.get());
    if let FieldPred::Nil { exists } = pred {
        let len = match values {
            None => 0,
            Some(Values::String(v)) => v.len(),
            Some(Values::Bytes(v)) => v.len(),
            Some(Values::Integer(v)) => v.len(),
            Some(Values::Double(v)) => v.len(),
            Some(Values::Bool(v)) => v.len(),
        };
        return (i < len) == *exists;
    }
    match (values, pred) {
        (Some(Values::String(v)), FieldPred::Str(p)) => {
            v.get(i).is_some_and(|s| p.test(s.as_bytes()))
        }
        (Some(Values::Bytes(v)), FieldPred::Str(p)) => v.get(i).is_some_and(|b| p.test(b)),
        (Some(Values::Integer(v)), FieldPred::Num(op, lit)) => {
            v.get(i).is_some_and(|&x| op.holds(lit.cmp_int(x)))
        }
        (Some(Values::Double(v)), FieldPred::Num(op, lit)) => {
            v.get(i).is_some_and(|&x| op.holds(lit.cmp_float(x)))
        }
        (Some(Values::Bool(v)), FieldPred::Bool { eq, value }) => {
            v.get(i).is_some_and(|&b| (b == *value) == *eq)
        }
        _ => false,
    }
}

/// The uuid as Heka prints it: lower-case hex, hyphenated 8-4-4-4-12.
fn uuid_string(uuid: &[u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut j = 0;
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            j += 1;
        }
        out[j] = HEX[usize::from(b >> 4)];
        out[j + 1] = HEX[usize::from(b & 0xf)];
        j += 2;
    }
    out
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn integer_float_comparison_is_exact() {
        let big = (1i64 << 53) + 1;
        // Rounding the integer to f64 would call these equal.
        assert_eq!(
            cmp_i64_f64(big, (1i64 << 53) as f64),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_i64_f64(3, 3.0), Some(Ordering::Equal));
        assert_eq!(cmp_i64_f64(3, 3.5), Some(Ordering::Less));
        assert_eq!(cmp_i64_f64(-3, -3.5), Some(Ordering::Greater));
        assert_eq!(cmp_i64_f64(i64::MAX, 9.3e18), Some(Ordering::Less));
        assert_eq!(cmp_i64_f64(i64::MIN, -9.3e18), Some(Ordering::Greater));
        assert_eq!(
            cmp_i64_f64(i64::MIN, -9_223_372_036_854_775_808.0),
            Some(Ordering::Equal)
        );
        assert_eq!(cmp_i64_f64(0, f64::NAN), None);
        assert_eq!(cmp_i64_f64(0, f64::INFINITY), Some(Ordering::Less));
    }

    #[test]
    fn uuid_prints_like_heka() {
        let u = [
            0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83, 0x94, 0xa5, 0xb6, 0xc7, 0xd8,
            0xe9, 0xfa,
        ];
        assert_eq!(&uuid_string(&u), b"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9fa");
    }
}
