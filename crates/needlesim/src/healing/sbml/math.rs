//! Expressions of the SBML export: a small tree written out as content MathML, and evaluated
//! here so that tests can compare every exported formula with the model's own code.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::units::Unit;

/// The `definitionURL` of SBML's simulation-time symbol.
pub const TIME_URL: &str = "http://www.sbml.org/sbml/symbols/time";

/// An operator of [`Ex::Apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// n-ary sum.
    Plus,
    /// Binary difference, or unary negation with one argument.
    Minus,
    /// n-ary product.
    Times,
    Divide,
    /// Natural logarithm.
    Ln,
    /// `a > b`.
    Gt,
    /// `a < b`.
    Lt,
    /// `a >= b`.
    Geq,
}

impl Op {
    /// The MathML element.
    pub fn mathml(self) -> &'static str {
        match self {
            Op::Plus => "plus",
            Op::Minus => "minus",
            Op::Times => "times",
            Op::Divide => "divide",
            Op::Ln => "ln",
            Op::Gt => "gt",
            Op::Lt => "lt",
            Op::Geq => "geq",
        }
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Ex {
    /// A number with its unit (written with `sbml:units`, so the units check sees it).
    Num(f64, Unit),
    /// An SBML identifier (parameter, species, compartment).
    Id(String),
    /// Simulation time, s.
    Time,
    Apply(Op, Vec<Ex>),
    /// `piecewise`: (value, condition) pieces in order, then the otherwise value.
    Piecewise(Vec<(Ex, Ex)>, Box<Ex>),
}

/// An identifier.
pub fn id(name: &str) -> Ex {
    Ex::Id(name.to_string())
}

/// A number in a unit.
pub fn num(v: f64, u: Unit) -> Ex {
    Ex::Num(v, u)
}

/// The dimensionless number `v`.
pub fn dl(v: f64) -> Ex {
    Ex::Num(v, Unit::Dimensionless)
}

/// `ln(x)`.
pub fn ln(x: Ex) -> Ex {
    Ex::Apply(Op::Ln, vec![x])
}

/// `a > b`.
pub fn gt(a: Ex, b: Ex) -> Ex {
    Ex::Apply(Op::Gt, vec![a, b])
}

/// `a < b`.
pub fn lt(a: Ex, b: Ex) -> Ex {
    Ex::Apply(Op::Lt, vec![a, b])
}

/// `a >= b`.
pub fn geq(a: Ex, b: Ex) -> Ex {
    Ex::Apply(Op::Geq, vec![a, b])
}

/// `if cond { then } else { otherwise }`.
pub fn ifelse(cond: Ex, then: Ex, otherwise: Ex) -> Ex {
    Ex::Piecewise(vec![(then, cond)], Box::new(otherwise))
}

/// `max(x, 0)` in the unit of `x` (the model's `x.max(0.0)`), as `piecewise`: SBML L3V1 and
/// many tools have no `max`.
pub fn pos(x: Ex, u: Unit) -> Ex {
    ifelse(gt(x.clone(), num(0.0, u)), x, num(0.0, u))
}

/// `x.clamp(lo, hi)` for dimensionless `x`.
pub fn clamp(x: Ex, lo: f64, hi: f64) -> Ex {
    Ex::Piecewise(
        vec![
            (dl(lo), lt(x.clone(), dl(lo))),
            (dl(hi), gt(x.clone(), dl(hi))),
        ],
        Box::new(x),
    )
}

fn nary(op: Op, a: Ex, b: Ex) -> Ex {
    let mut args = Vec::new();
    for e in [a, b] {
        match e {
            Ex::Apply(o, v) if o == op => args.extend(v),
            e => args.push(e),
        }
    }
    Ex::Apply(op, args)
}

impl Add for Ex {
    type Output = Ex;
    fn add(self, b: Ex) -> Ex {
        nary(Op::Plus, self, b)
    }
}

impl Sub for Ex {
    type Output = Ex;
    fn sub(self, b: Ex) -> Ex {
        Ex::Apply(Op::Minus, vec![self, b])
    }
}

impl Mul for Ex {
    type Output = Ex;
    fn mul(self, b: Ex) -> Ex {
        nary(Op::Times, self, b)
    }
}

impl Div for Ex {
    type Output = Ex;
    fn div(self, b: Ex) -> Ex {
        Ex::Apply(Op::Divide, vec![self, b])
    }
}

impl Neg for Ex {
    type Output = Ex;
    fn neg(self) -> Ex {
        Ex::Apply(Op::Minus, vec![self])
    }
}

impl Ex {
    /// The value, with identifiers looked up by `env` and time `t`. `None`: an identifier is
    /// unknown (a bug in the export, which the tests catch).
    pub fn eval(&self, env: &dyn Fn(&str) -> Option<f64>, t: f64) -> Option<f64> {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        Some(match self {
            Ex::Num(v, _) => *v,
            Ex::Id(name) => env(name)?,
            Ex::Time => t,
            Ex::Apply(op, args) => {
                let v = args
                    .iter()
                    .map(|a| a.eval(env, t))
                    .collect::<Option<Vec<f64>>>()?;
                match (op, v.as_slice()) {
                    (Op::Plus, _) => v.iter().sum(),
                    (Op::Times, _) => v.iter().product(),
                    (Op::Minus, [x]) => -x,
                    (Op::Minus, [x, y]) => x - y,
                    (Op::Divide, [x, y]) => x / y,
                    (Op::Ln, [x]) => x.ln(),
                    (Op::Gt, [x, y]) => b(x > y),
                    (Op::Lt, [x, y]) => b(x < y),
                    (Op::Geq, [x, y]) => b(x >= y),
                    _ => return None,
                }
            }
            Ex::Piecewise(pieces, otherwise) => {
                for (value, cond) in pieces {
                    if cond.eval(env, t)? != 0.0 {
                        return value.eval(env, t);
                    }
                }
                otherwise.eval(env, t)?
            }
        })
    }

    /// Every identifier the expression reads, in order of first appearance.
    pub fn ids(&self, out: &mut Vec<String>) {
        match self {
            Ex::Id(n) => {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            Ex::Apply(_, args) => args.iter().for_each(|a| a.ids(out)),
            Ex::Piecewise(p, o) => {
                for (v, c) in p {
                    v.ids(out);
                    c.ids(out);
                }
                o.ids(out);
            }
            Ex::Num(..) | Ex::Time => {}
        }
    }
}

/// A number as MathML `cn` content: `(type, text)` pieces; e-notation splits mantissa and
/// exponent (`<cn type="e-notation">m<sep/>e</cn>`). Shortest text that reads back exactly.
pub fn cn_parts(v: f64) -> (Option<&'static str>, String, Option<String>) {
    if v == 0.0 || v.fract() == 0.0 && v.abs() < 1e15 {
        return (Some("integer"), format!("{}", v as i64), None);
    }
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((m, "0")) => (None, m.to_string(), None),
        Some((m, e)) => (Some("e-notation"), m.to_string(), Some(e.to_string())),
        None => (None, s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_flatten_and_evaluate() {
        let e = id("a") + id("b") + dl(2.0) * id("a") * id("b");
        match &e {
            Ex::Apply(Op::Plus, v) => assert_eq!(v.len(), 3),
            _ => panic!("not a sum: {e:?}"),
        }
        let env = |n: &str| match n {
            "a" => Some(3.0),
            "b" => Some(4.0),
            _ => None,
        };
        assert_eq!(e.eval(&env, 0.0), Some(3.0 + 4.0 + 24.0));
        assert_eq!(
            pos(-id("a"), Unit::Dimensionless).eval(&env, 0.0),
            Some(0.0)
        );
        assert_eq!(clamp(id("b"), 0.0, 0.95).eval(&env, 0.0), Some(0.95));
        assert_eq!(clamp(-id("b"), 0.0, 0.95).eval(&env, 0.0), Some(0.0));
        assert_eq!(id("c").eval(&env, 0.0), None);
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [
            0.0,
            1.0,
            -2.0,
            0.95,
            1e-30,
            3.6288e6,
            2.0 / 3.0,
            6e-19,
            31557600.0,
        ] {
            let (ty, m, e) = cn_parts(v);
            let back: f64 = match (ty, e) {
                (Some("e-notation"), Some(e)) => format!("{m}e{e}").parse().unwrap(),
                _ => m.parse().unwrap(),
            };
            assert_eq!(back, v, "{v}: {ty:?} {m}");
        }
    }
}
