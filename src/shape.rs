//! The shape of a row type: what stored files and cluster peers know a row type by.
//!
//! A shape is traced from the type's serde `Deserialize` (with `serde-reflection`) and written
//! as text: `Order{id:u64,customer:str,cents:i64}`, `(str,option<u32>)`,
//! `Side<Buy|Sell{limit:i64}>`. It depends only on what the encoding depends on (field order
//! and types, enum variants in order, serde's names for containers and fields) and not on the
//! compiler or the module a type lives in, so a type keeps its shape across Rust versions and
//! refactors, and changes it exactly when its stored bytes would stop decoding. The user
//! controls the names with serde's attributes (`#[serde(rename = "...")]`).
//!
//! A type whose `Deserialize` cannot be traced (one that validates while decoding, like
//! `NonZeroU32`, or that asks for self-describing data) falls back to its Rust type name,
//! `rust:` followed by `std::any::type_name`, which is only as stable as the compiler's naming.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::de::DeserializeOwned;
use serde_reflection::{
    ContainerFormat, Format, Named, Registry, Samples, Tracer, TracerConfig, VariantFormat,
};

/// The most deserialization passes spent on one type (each explores one more variant of every
/// enum it holds).
const MAX_PASSES: usize = 4_096;

/// The shape of `T`, or `rust:<type name>` if it cannot be traced.
pub(crate) fn shape_of<T: DeserializeOwned>() -> String {
    traced::<T>().unwrap_or_else(|| format!("rust:{}", std::any::type_name::<T>()))
}

/// Traces `T` until every enum it holds has shown all its variants.
fn traced<T: DeserializeOwned>() -> Option<String> {
    let samples = Samples::new();
    // The enums known to be in `T`: after each pass their "incomplete" marks are read and
    // cleared, so that the next pass explores their next variant. (`Tracer::trace_type` does this
    // for the outermost type only; nested enums are learnt from the registry's complaint.)
    let mut enums: BTreeSet<String> = BTreeSet::new();
    let mut passes = 0;
    loop {
        let mut tracer = Tracer::new(TracerConfig::default());
        let root = loop {
            passes += 1;
            if passes > MAX_PASSES {
                return None;
            }
            let (format, _) = tracer.trace_type_once::<T>(&samples).ok()?;
            let incomplete = enums.iter().filter(|name| tracer.check_incomplete_enum(name).is_some()).count();
            if incomplete == 0 {
                break format;
            }
        };
        match tracer.registry() {
            Ok(registry) => return render(&root, &registry),
            Err(serde_reflection::Error::MissingVariants(names)) => {
                let before = enums.len();
                enums.extend(names);
                if enums.len() == before {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

/// Writes `format` as text, each container spelled out where it first appears.
fn render(format: &Format, registry: &Registry) -> Option<String> {
    let mut out = String::new();
    Render { registry, spelled: BTreeSet::new(), out: &mut out }.format(format)?;
    Some(out)
}

struct Render<'a> {
    registry: &'a Registry,
    /// Containers already spelled out: later (and recursive) uses are just their name.
    spelled: BTreeSet<&'a str>,
    out: &'a mut String,
}

impl<'a> Render<'a> {
    fn format(&mut self, format: &'a Format) -> Option<()> {
        let primitive = match format {
            Format::Variable(_) => return None,
            Format::TypeName(name) => return self.container(name),
            Format::Unit => "()",
            Format::Bool => "bool",
            Format::I8 => "i8",
            Format::I16 => "i16",
            Format::I32 => "i32",
            Format::I64 => "i64",
            Format::I128 => "i128",
            Format::U8 => "u8",
            Format::U16 => "u16",
            Format::U32 => "u32",
            Format::U64 => "u64",
            Format::U128 => "u128",
            Format::F32 => "f32",
            Format::F64 => "f64",
            Format::Char => "char",
            Format::Str => "str",
            Format::Bytes => "bytes",
            Format::Option(inner) => return self.wrapped("option<", inner, ">"),
            Format::Seq(inner) => return self.wrapped("seq<", inner, ">"),
            Format::Map { key, value } => {
                self.out.push_str("map<");
                self.format(key)?;
                self.out.push(',');
                self.format(value)?;
                self.out.push('>');
                return Some(());
            }
            Format::Tuple(items) => return self.list("(", items, ")"),
            Format::TupleArray { content, size } => {
                self.out.push('[');
                self.format(content)?;
                let _ = write!(self.out, ";{size}]");
                return Some(());
            }
        };
        self.out.push_str(primitive);
        Some(())
    }

    fn wrapped(&mut self, open: &str, inner: &'a Format, close: &str) -> Option<()> {
        self.out.push_str(open);
        self.format(inner)?;
        self.out.push_str(close);
        Some(())
    }

    fn list(&mut self, open: &str, items: &'a [Format], close: &str) -> Option<()> {
        self.out.push_str(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.format(item)?;
        }
        self.out.push_str(close);
        Some(())
    }

    fn fields(&mut self, fields: &'a [Named<Format>]) -> Option<()> {
        self.out.push('{');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{}:", field.name);
            self.format(&field.value)?;
        }
        self.out.push('}');
        Some(())
    }

    fn container(&mut self, name: &'a str) -> Option<()> {
        self.out.push_str(name);
        if !self.spelled.insert(name) {
            return Some(());
        }
        match self.registry.get(name)? {
            ContainerFormat::UnitStruct => Some(()),
            ContainerFormat::NewTypeStruct(inner) => self.wrapped("(", inner, ")"),
            ContainerFormat::TupleStruct(items) => self.list("(", items, ")"),
            ContainerFormat::Struct(fields) => self.fields(fields),
            ContainerFormat::Enum(variants) => {
                self.out.push('<');
                // In index order, which is the order the encoding numbers them.
                for (i, (index, variant)) in variants.iter().enumerate() {
                    if *index as usize != i {
                        return None;
                    }
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.out.push_str(&variant.name);
                    match &variant.value {
                        VariantFormat::Variable(_) => return None,
                        VariantFormat::Unit => {}
                        VariantFormat::NewType(inner) => self.wrapped("(", inner, ")")?,
                        VariantFormat::Tuple(items) => self.list("(", items, ")")?,
                        VariantFormat::Struct(fields) => self.fields(fields)?,
                    }
                }
                self.out.push('>');
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::num::NonZeroU32;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Order {
        id: u64,
        customer: String,
        cents: i64,
    }

    #[derive(Serialize, Deserialize)]
    enum Side {
        Buy,
        Sell { limit: i64 },
        Cross(u8, Option<u16>),
    }

    #[derive(Serialize, Deserialize)]
    enum Venue {
        Lit(Side),
        Dark,
    }

    #[derive(Serialize, Deserialize)]
    struct Trade {
        side: Side,
        venue: Venue,
        tags: Vec<String>,
        legs: BTreeMap<u32, (bool, char)>,
        id: Id,
    }

    #[derive(Serialize, Deserialize)]
    struct Id(u128);

    #[derive(Serialize, Deserialize)]
    enum Tree {
        Leaf(u32),
        Node(Box<Tree>, Box<Tree>),
    }

    #[test]
    fn plain_types_and_structs_are_spelled_out() {
        assert_eq!(shape_of::<u64>(), "u64");
        assert_eq!(shape_of::<(String, Option<u32>)>(), "(str,option<u32>)");
        assert_eq!(shape_of::<Order>(), "Order{id:u64,customer:str,cents:i64}");
        assert_eq!(shape_of::<(u64, Order)>(), "(u64,Order{id:u64,customer:str,cents:i64})");
    }

    #[test]
    fn every_variant_of_nested_enums_is_traced() {
        assert_eq!(
            shape_of::<Trade>(),
            "Trade{side:Side<Buy|Sell{limit:i64}|Cross(u8,option<u16>)>,\
             venue:Venue<Lit(Side)|Dark>,tags:seq<str>,legs:map<u32,(bool,char)>,id:Id(u128)}"
        );
    }

    #[test]
    fn recursive_types_name_themselves() {
        assert_eq!(shape_of::<Tree>(), "Tree<Leaf(u32)|Node(Tree,Tree)>");
    }

    #[test]
    fn a_type_that_validates_while_decoding_falls_back_to_its_rust_name() {
        assert_eq!(shape_of::<NonZeroU32>(), format!("rust:{}", std::any::type_name::<NonZeroU32>()));
    }

    #[test]
    fn serde_renames_are_the_users_control_over_the_shape() {
        #[derive(Serialize, Deserialize)]
        #[serde(rename = "Order")]
        struct OrderV2 {
            id: u64,
            #[serde(rename = "customer")]
            buyer: String,
            cents: i64,
        }
        assert_eq!(shape_of::<OrderV2>(), shape_of::<Order>());
    }
}
