//! A serde adapter that hides some keys of a JSON object from the struct reading it, so a
//! plugin's `deny_unknown_fields` config never sees the engine's common keys.
//!
//! It wraps the deserializer rather than copying the object into a map without those
//! keys: the plugin's struct still reads straight from serde_json, so its errors keep
//! serde_json's line and column, and serde_path_to_error (wrapped around this adapter)
//! still tracks the key path.

use std::fmt;

use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A deserializer whose top-level object lacks the keys in `skip` (their values are read
/// and discarded). Values that are not objects pass through unchanged.
#[derive(Debug)]
pub(crate) struct SkipKeys<D> {
    inner: D,
    skip: &'static [&'static str],
}

impl<D> SkipKeys<D> {
    /// Wraps `inner`, hiding the keys `skip`.
    pub(crate) fn new(inner: D, skip: &'static [&'static str]) -> Self {
        SkipKeys { inner, skip }
    }
}

/// Forwards `deserialize_*` methods that cannot produce an object to the inner
/// deserializer unchanged.
macro_rules! forward_plain {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$method(visitor)
        }
    )*};
}

/// Forwards `deserialize_*` methods that may produce an object with a wrapped visitor.
macro_rules! forward_wrapped {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$method(SkipVisitor { inner: visitor, skip: self.skip })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for SkipKeys<D> {
    type Error = D::Error;

    forward_wrapped! { deserialize_any deserialize_map deserialize_option }

    forward_plain! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_seq deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = SkipVisitor {
            inner: visitor,
            skip: self.skip,
        };
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = SkipVisitor {
            inner: visitor,
            skip: self.skip,
        };
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor that hands its inner visitor objects without the skipped keys (and wraps
/// the deserializer of a newtype or `Some` again, so `Option<C>` and `Wrapper(C)` work).
struct SkipVisitor<V> {
    inner: V,
    skip: &'static [&'static str],
}

/// Forwards `visit_*` methods that carry a plain value.
macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for SkipVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(SkipKeys::new(d, self.skip))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(SkipKeys::new(d, self.skip))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(SkipMap {
            inner: map,
            skip: self.skip,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

/// An object's members without the skipped keys.
struct SkipMap<A> {
    inner: A,
    skip: &'static [&'static str],
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        while let Some(key) = self.inner.next_key::<String>()? {
            if self.skip.contains(&key.as_str()) {
                self.inner.next_value::<IgnoredAny>()?;
                continue;
            }
            return seed.deserialize(StringDeserializer::new(key)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        self.inner.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::SkipKeys;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Plugin {
        address: String,
        #[serde(default)]
        size: u32,
    }

    fn read<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        T::deserialize(SkipKeys::new(&mut de, &["name", "type"]))
    }

    #[test]
    fn skipped_keys_are_hidden_wherever_they_are() {
        let text = r#"{"name": {"any": [1]}, "address": "a", "type": "X", "size": 3}"#;
        let want = Plugin {
            address: "a".into(),
            size: 3,
        };
        assert_eq!(read::<Plugin>(text).unwrap(), want);
        assert_eq!(read::<Option<Plugin>>(text).unwrap(), Some(want));
        assert_eq!(read::<Option<Plugin>>("null").unwrap(), None);
    }

    #[test]
    fn other_unknown_keys_are_still_refused_with_their_position() {
        let text = "{\"type\": \"X\",\n \"address\": \"a\",\n \"sise\": 3}";
        let e = read::<Plugin>(text).unwrap_err();
        assert!(e.to_string().starts_with("unknown field `sise`"), "{e}");
        assert_eq!((e.line(), e.column()), (3, 7));
    }

    #[test]
    fn non_objects_pass_through() {
        assert_eq!(read::<Vec<u8>>("[1, 2]").unwrap(), vec![1, 2]);
        assert_eq!(read::<String>("\"s\"").unwrap(), "s");
        assert!(read::<Plugin>("3").is_err());
    }
}
