//! One message as read off the wire: the raw JSON text of each field in
//! [`WIRE_FIELDS`] (a present `null` stays `"null"`), other keys skipped, a
//! field given twice refused. Nested values are not parsed here.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::table::{wire_slot, WIRE_FIELDS};

/// The message's wire fields by [`WIRE_FIELDS`] slot; `None` = absent.
#[derive(Default)]
pub struct WireFields<'de>([Option<&'de RawValue>; WIRE_FIELDS.len()]);

impl<'de> WireFields<'de> {
    pub fn get(&self, slot: usize) -> Option<&'de RawValue> {
        self.0[slot]
    }
}

/// Reads one message into `fields` (reused, not moved: it is a few hundred
/// bytes). A message must be a JSON object: an array is refused, not read by
/// position. `entered` is set once the object has begun, which tells a message
/// that is no object from an object that is no message.
pub struct MessageSeed<'s, 'de> {
    pub fields: &'s mut WireFields<'de>,
    pub entered: &'s mut bool,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        *self.entered = false;
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        *self.entered = true;
        let fields = &mut self.fields.0;
        *fields = [None; WIRE_FIELDS.len()];
        while let Some(key) = map.next_key_seed(WireKey)? {
            match key {
                Some(slot) if fields[slot].is_some() => return Err(A::Error::duplicate_field(WIRE_FIELDS[slot])),
                Some(slot) => fields[slot] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key: its [`WIRE_FIELDS`] slot, or `None` for a key no message reads.
struct WireKey;

impl<'de> DeserializeSeed<'de> for WireKey {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for WireKey {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(wire_slot(name))
    }
}
