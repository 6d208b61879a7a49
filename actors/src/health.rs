//! What a readiness check found, and how long probes reuse the answer.

use std::time::Duration;

/// How long a readiness answer is reused, so frequent probes stay cheap.
pub const PROBE_TTL: Duration = Duration::from_secs(1);

/// One dependency's readiness, with the reason when it is not ready.
#[derive(Debug, Clone, PartialEq)]
pub enum Health<Reason> {
    Ready,
    Unready(Reason),
}

impl<Reason> Health<Reason> {
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ready)
    }

    pub fn map_reason<Other>(self, f: impl FnOnce(Reason) -> Other) -> Health<Other> {
        match self {
            Self::Ready => Health::Ready,
            Self::Unready(reason) => Health::Unready(f(reason)),
        }
    }
}

impl<Reason> From<Result<(), Reason>> for Health<Reason> {
    fn from(result: Result<(), Reason>) -> Self {
        match result {
            Ok(()) => Self::Ready,
            Err(reason) => Self::Unready(reason),
        }
    }
}
