//! Writes an [`SbmlModel`] as SBML Level 3 Version 2 core (quick-xml).

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};

use super::math::{Ex, TIME_URL, cn_parts, geq};
use super::units::Unit;
use super::{Kind, SbmlModel};

pub const SBML_NS: &str = "http://www.sbml.org/sbml/level3/version2/core";
const MATHML_NS: &str = "http://www.w3.org/1998/Math/MathML";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

type W = Writer<Vec<u8>>;

/// A number as an XML attribute: plain for moderate magnitudes, else scientific; both read back
/// exactly.
pub fn attr_num(v: f64) -> String {
    if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

pub fn write(m: &SbmlModel) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = document(&mut w, m);
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).unwrap_or_default()
}

fn document(w: &mut W, m: &SbmlModel) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("sbml")
        .with_attributes([("xmlns", SBML_NS), ("level", "3"), ("version", "2")])
        .write_inner_content(|w| {
            w.create_element("model")
                .with_attributes([
                    ("id", m.id.as_str()),
                    ("name", m.name.as_str()),
                    ("timeUnits", "second"),
                    ("volumeUnits", Unit::CubicMetre.id()),
                    ("lengthUnits", "metre"),
                ])
                .write_inner_content(|w| model(w, m))?;
            Ok(())
        })?;
    Ok(())
}

fn model(w: &mut W, m: &SbmlModel) -> io::Result<()> {
    w.create_element("notes").write_inner_content(|w| {
        w.create_element("body")
            .with_attribute(("xmlns", XHTML_NS))
            .write_inner_content(|w| {
                for p in &m.notes {
                    w.create_element("p")
                        .write_text_content(BytesText::new(p))?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    list(w, "listOfUnitDefinitions", |w| {
        for u in Unit::ALL {
            let Some(parts) = u.parts() else { continue };
            w.create_element("unitDefinition")
                .with_attributes([("id", u.id()), ("name", u.text())])
                .write_inner_content(|w| {
                    list(w, "listOfUnits", |w| {
                        for &(kind, exp, mult) in parts {
                            w.create_element("unit")
                                .with_attributes([
                                    ("kind", kind),
                                    ("exponent", exp.to_string().as_str()),
                                    ("scale", "0"),
                                    ("multiplier", attr_num(mult).as_str()),
                                ])
                                .write_empty()?;
                        }
                        Ok(())
                    })
                })?;
        }
        Ok(())
    })?;
    list(w, "listOfCompartments", |w| {
        for (id, name, size) in &m.compartments {
            w.create_element("compartment")
                .with_attributes([
                    ("id", id.as_str()),
                    ("name", name.as_str()),
                    ("spatialDimensions", "3"),
                    ("size", attr_num(*size).as_str()),
                    ("units", Unit::CubicMetre.id()),
                    ("constant", "true"),
                ])
                .write_empty()?;
        }
        Ok(())
    })?;
    list(w, "listOfSpecies", |w| {
        for q in &m.quantities {
            let Some(c) = &q.compartment else { continue };
            let substance = match q.unit {
                Unit::ItemPerM3 => Unit::Item,
                _ => Unit::Kilogram,
            };
            w.create_element("species")
                .with_attributes([
                    ("id", q.id.as_str()),
                    ("name", q.name.as_str()),
                    ("compartment", c.as_str()),
                    ("initialConcentration", attr_num(q.value).as_str()),
                    ("substanceUnits", substance.id()),
                    ("hasOnlySubstanceUnits", "false"),
                    ("boundaryCondition", "false"),
                    ("constant", "false"),
                ])
                .write_empty()?;
        }
        Ok(())
    })?;
    list(w, "listOfParameters", |w| {
        for q in m.quantities.iter().filter(|q| q.compartment.is_none()) {
            let constant = matches!(q.kind, Kind::Constant | Kind::Derived(_));
            let mut el = w
                .create_element("parameter")
                .with_attributes([("id", q.id.as_str()), ("name", q.name.as_str())]);
            let value = attr_num(q.value);
            if !matches!(q.kind, Kind::Rule(_)) {
                el = el.with_attribute(("value", value.as_str()));
            }
            el.with_attributes([
                ("units", q.unit.id()),
                ("constant", if constant { "true" } else { "false" }),
            ])
            .write_empty()?;
        }
        Ok(())
    })?;
    list(w, "listOfInitialAssignments", |w| {
        for q in &m.quantities {
            let e = match &q.kind {
                Kind::Derived(e) => e,
                Kind::State { init: Some(e), .. } => e,
                _ => continue,
            };
            w.create_element("initialAssignment")
                .with_attribute(("symbol", q.id.as_str()))
                .write_inner_content(|w| math(w, e))?;
        }
        Ok(())
    })?;
    list(w, "listOfRules", |w| {
        for q in &m.quantities {
            if let Kind::Rule(e) = &q.kind {
                w.create_element("assignmentRule")
                    .with_attribute(("variable", q.id.as_str()))
                    .write_inner_content(|w| math(w, e))?;
            }
        }
        for q in &m.quantities {
            if let Kind::State { rate, .. } = &q.kind {
                w.create_element("rateRule")
                    .with_attribute(("variable", q.id.as_str()))
                    .write_inner_content(|w| math(w, rate))?;
            }
        }
        Ok(())
    })?;
    list(w, "listOfEvents", |w| {
        for ev in &m.events {
            w.create_element("event")
                .with_attributes([
                    ("id", ev.id.as_str()),
                    ("name", ev.name.as_str()),
                    ("useValuesFromTriggerTime", "true"),
                ])
                .write_inner_content(|w| {
                    // Fires when time reaches the session, at t = 0 too (initialValue false).
                    w.create_element("trigger")
                        .with_attributes([("initialValue", "false"), ("persistent", "true")])
                        .write_inner_content(|w| {
                            math(w, &geq(Ex::Time, Ex::Num(ev.t_s, Unit::Second)))
                        })?;
                    list(w, "listOfEventAssignments", |w| {
                        for (var, e) in &ev.assignments {
                            w.create_element("eventAssignment")
                                .with_attribute(("variable", var.as_str()))
                                .write_inner_content(|w| math(w, e))?;
                        }
                        Ok(())
                    })
                })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn list(w: &mut W, name: &str, inner: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
    w.create_element(name).write_inner_content(inner)?;
    Ok(())
}

fn math(w: &mut W, e: &Ex) -> io::Result<()> {
    w.create_element("math")
        .with_attributes([("xmlns", MATHML_NS), ("xmlns:sbml", SBML_NS)])
        .write_inner_content(|w| node(w, e))?;
    Ok(())
}

fn node(w: &mut W, e: &Ex) -> io::Result<()> {
    match e {
        Ex::Num(v, u) => {
            let (ty, m, exp) = cn_parts(*v);
            let mut el = BytesStart::new("cn");
            if let Some(t) = ty {
                el.push_attribute(("type", t));
            }
            el.push_attribute(("sbml:units", u.id()));
            w.write_event(Event::Start(el))?;
            w.write_event(Event::Text(BytesText::new(&m)))?;
            if let Some(x) = exp {
                w.write_event(Event::Empty(BytesStart::new("sep")))?;
                w.write_event(Event::Text(BytesText::new(&x)))?;
            }
            w.write_event(Event::End(quick_xml::events::BytesEnd::new("cn")))?;
        }
        Ex::Id(name) => {
            w.create_element("ci")
                .write_text_content(BytesText::new(name))?;
        }
        Ex::Time => {
            w.create_element("csymbol")
                .with_attributes([("encoding", "text"), ("definitionURL", TIME_URL)])
                .write_text_content(BytesText::new("time"))?;
        }
        Ex::Apply(op, args) => {
            w.create_element("apply").write_inner_content(|w| {
                w.write_event(Event::Empty(BytesStart::new(op.mathml())))?;
                for a in args {
                    node(w, a)?;
                }
                Ok(())
            })?;
        }
        Ex::Piecewise(pieces, otherwise) => {
            w.create_element("piecewise").write_inner_content(|w| {
                for (v, c) in pieces {
                    w.create_element("piece").write_inner_content(|w| {
                        node(w, v)?;
                        node(w, c)
                    })?;
                }
                w.create_element("otherwise")
                    .write_inner_content(|w| node(w, otherwise))?;
                Ok(())
            })?;
        }
    }
    Ok(())
}
