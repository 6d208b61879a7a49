//! The object keys a message names (`blob_ref`'s `s3_key`, a custom object's
//! `value.s3_key`), held to the connection's run when authentication is on:
//! presign only signs keys under `<run_id>/`, and a message must not attach
//! another run's object to this one either.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::client_text::ClientText;
use super::error::FieldError;
use super::fields;
use super::table::ObjectKey;
use crate::ids;

/// Which object keys messages may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    /// Any key, as the reference: without authentication there is no one to keep apart.
    Any,
    /// Only keys of the connection's run, `<run_id>/<path>` with a path presign would sign.
    OwnRun,
}

/// Checks the key that field `raw` names (as `key_at` says) against `run_id`.
pub fn check(key_at: ObjectKey, raw: &RawValue, run_id: &str) -> Result<(), FieldError> {
    match key_at {
        ObjectKey::Itself => in_run(&fields::string_value(raw)?, run_id),
        ObjectKey::Member(member) => {
            let mut refusal = None;
            let parsed =
                serde_json::Deserializer::from_str(raw.get()).deserialize_map(MemberKeys { member, run_id, refusal: &mut refusal });
            match (refusal, parsed) {
                (Some(refusal), _) => Err(FieldError::MemberKey { member, refusal: Box::new(refusal) }),
                (None, Ok(())) => Ok(()),
                // The object was parsed once already; were it not readable now, no key in it is known to be the run's.
                (None, Err(error)) => Err(FieldError::InvalidString(error.to_string())),
            }
        }
    }
}

fn in_run(key: &str, run_id: &str) -> Result<(), FieldError> {
    ids::key_in_run(run_id, key).map_err(|why| FieldError::KeyOutsideRun { key: ClientText::new(key), why })
}

/// Reads an object's members, checking every one named `member` (JSON lets a
/// name repeat; Python's reader keeps the last, so all must pass). The first
/// refusal stops the reading.
struct MemberKeys<'r> {
    member: &'static str,
    run_id: &'r str,
    refusal: &'r mut Option<FieldError>,
}

impl<'de> Visitor<'de> for MemberKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            if name != self.member {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: &RawValue = map.next_value()?;
            // `null` (or a non-finite number, rewritten to it) names no object.
            if value.get() == "null" {
                continue;
            }
            if let Err(refusal) = fields::string_value(value).and_then(|key| in_run(&key, self.run_id)) {
                *self.refusal = Some(refusal);
                return Err(A::Error::custom("object key refused"));
            }
        }
        Ok(())
    }
}
