//! The wire types read from what the browser's `JSON.parse` (or `Response.json`) made: a
//! small serde `Deserializer` over a `JsValue`, in place of serde-wasm-bindgen's.
//!
//! Why our own: every serde error path formats its message (`invalid type: floating point
//! 1.5, expected …`), which links core's float formatting and serde's error texts into the
//! bundle (about 13 KB gzipped). An answer that does not fit the types is a server this
//! bundle does not know, and one sentence says so; this error carries no detail, so none of
//! that is linked. It reads JSON's values only (null, booleans, numbers, strings, arrays,
//! plain objects): that is all `JSON.parse` makes.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use wasm_bindgen::{JsCast as _, JsValue};

/// An answer that does not fit the wire types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the server's answer is not what this page expects (reload the page)")
    }
}

impl std::error::Error for Mismatch {}

// Every provided method is replaced: serde's would format the details first.
impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Self
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Self
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Self
    }
    fn missing_field(_: &'static str) -> Self {
        Self
    }
    fn duplicate_field(_: &'static str) -> Self {
        Self
    }
}

/// Reads `T` from a parsed JSON value.
pub fn from_value<T: DeserializeOwned>(value: JsValue) -> Result<T, Mismatch> {
    T::deserialize(Value(value))
}

/// One parsed JSON value.
struct Value(JsValue);

impl<'de> de::Deserializer<'de> for Value {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        let x = self.0;
        if x.is_null() || x.is_undefined() {
            v.visit_unit()
        } else if let Some(b) = x.as_bool() {
            v.visit_bool(b)
        } else if let Some(n) = x.as_f64() {
            // Whole numbers as integers (ids, sizes, counts); `f64` fields take them too.
            if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
                if n >= 0.0 {
                    v.visit_u64(n as u64)
                } else {
                    v.visit_i64(n as i64)
                }
            } else {
                v.visit_f64(n)
            }
        } else if let Some(s) = x.as_string() {
            v.visit_string(s)
        } else if js_sys::Array::is_array(&x) {
            v.visit_seq(Items(x.unchecked_into(), 0))
        } else if let Some(e) = entries(&x) {
            v.visit_map(Entries(Items(e, 0), JsValue::UNDEFINED))
        } else {
            Err(Mismatch)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        if self.0.is_null() || self.0.is_undefined() {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Mismatch> {
        // Unit variants are strings on the wire (the tagged enums are read as maps).
        match self.0.as_string() {
            Some(s) => v.visit_enum(IntoDeserializer::<Mismatch>::into_deserializer(s)),
            None => Err(Mismatch),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Mismatch> {
        v.visit_newtype_struct(self)
    }

    // What a type asks for is all it is offered: a struct's visitor is given a map and
    // never a sequence, a string's a string. (Through `deserialize_any` every visitor was
    // offered every JSON kind, which linked each struct's `visit_seq`, never used: JSON
    // objects are maps.)
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_map(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        match entries(&self.0) {
            Some(e) => v.visit_map(Entries(Items(e, 0), JsValue::UNDEFINED)),
            None => Err(Mismatch),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        if js_sys::Array::is_array(&self.0) {
            v.visit_seq(Items(self.0.unchecked_into(), 0))
        } else {
            Err(Mismatch)
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        v.visit_string(self.0.as_string().ok_or(Mismatch)?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        self.deserialize_string(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        self.deserialize_string(v)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        v.visit_bool(self.0.as_bool().ok_or(Mismatch)?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Mismatch> {
        v.visit_f64(self.0.as_f64().ok_or(Mismatch)?)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 char bytes byte_buf
        unit unit_struct tuple tuple_struct ignored_any
    }
}

/// A plain object's `[key, value]` pairs (`Object.entries`), if `x` is one (not an array).
fn entries(x: &JsValue) -> Option<js_sys::Array> {
    (x.is_object() && !js_sys::Array::is_array(x))
        .then(|| js_sys::Object::entries(x.unchecked_ref()))
}

/// An array and the index of its next item.
struct Items(js_sys::Array, u32);

impl Items {
    fn next(&mut self) -> Option<JsValue> {
        let at = self.1;
        self.1 += 1;
        (at < self.0.length()).then(|| self.0.get(at))
    }
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Mismatch;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Mismatch> {
        self.next().map(|x| seed.deserialize(Value(x))).transpose()
    }
}

/// An object's `[key, value]` pairs (`Object.entries`), and the value of the key just read.
struct Entries(Items, JsValue);

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Mismatch;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Mismatch> {
        let Some(pair) = self.0.next() else {
            return Ok(None);
        };
        let pair: js_sys::Array = pair.unchecked_into();
        self.1 = pair.get(1);
        seed.deserialize(Value(pair.get(0))).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Mismatch> {
        seed.deserialize(Value(std::mem::replace(&mut self.1, JsValue::UNDEFINED)))
    }
}
