//! JSON from a server, parsed within a budget. A body of `[0,0,0,…]` is valid JSON, and parsed
//! whole it costs tens of bytes of memory per byte received; a harness must not let a hostile
//! server turn 16 MB into gigabytes. So a body is parsed into at most [`MAX_VALUES`] values;
//! past that, the parse stops and says the body is over the harness's limit (which says nothing
//! about whether it is valid JSON).

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Most JSON values (scalars, arrays and objects, at any depth) one body may hold.
pub const MAX_VALUES: usize = 200_000;

/// Why a body was not parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON.
    Invalid(String),
    /// Possibly valid, but holding more values than the harness checks.
    OverLimit { limit: usize },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Invalid(e) => write!(f, "{e}"),
            JsonError::OverLimit { limit } => {
                write!(f, "the body holds more than {limit} JSON values, more than chatprobe checks in one answer")
            }
        }
    }
}

/// Marker in the deserializer's error for a spent budget.
const OVER: &str = "chatprobe: JSON value budget spent";

/// Parse `body` into at most `max_values` values.
pub fn parse(body: &[u8], max_values: usize) -> Result<Value, JsonError> {
    let budget = Cell::new(max_values);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Bounded { budget: &budget }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        if e.to_string().starts_with(OVER) {
            JsonError::OverLimit { limit: max_values }
        } else {
            JsonError::Invalid(e.to_string())
        }
    })
}

/// A `Value` whose every node spends one unit of a shared budget.
#[derive(Clone, Copy)]
struct Bounded<'a> {
    budget: &'a Cell<usize>,
}

impl Bounded<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(OVER)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_budget_it_is_serde_json() {
        for text in [r#"{"a":[1,2.5,"x",null,true,{"b":[]}]}"#, "[]", "0", r#""s""#, "[-1, 18446744073709551615]"] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text.as_bytes(), 100), Ok(expected), "{text}");
        }
    }

    #[test]
    fn past_the_budget_it_stops_and_says_so() {
        let body = format!("[{}0]", "0,".repeat(1000));
        assert_eq!(parse(body.as_bytes(), 1002), Ok(serde_json::from_str(&body).unwrap()));
        assert_eq!(parse(body.as_bytes(), 1001), Err(JsonError::OverLimit { limit: 1001 }));
        let nested = r#"{"a":{"b":{"c":1}}}"#;
        assert_eq!(parse(nested.as_bytes(), 3), Err(JsonError::OverLimit { limit: 3 }));
    }

    #[test]
    fn invalid_json_is_invalid_whatever_the_budget() {
        for text in ["[0,", "{\"a\" 1}", "[1] x", "\u{0}"] {
            assert!(matches!(parse(text.as_bytes(), 10), Err(JsonError::Invalid(_))), "{text}");
        }
    }
}
