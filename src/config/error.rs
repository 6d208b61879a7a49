//! Why a configuration is refused: always the variable, then the problem.

/// A refused configuration; printed as `VARIABLE: problem` before exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: Problem,
}

impl ConfigError {
    pub fn new(var: &str, problem: Problem) -> Self {
        Self { var: var.to_string(), problem }
    }

    /// The variable behind a value clap refused, or `None` for errors that are
    /// not about a value (`--help`, an unknown flag): clap reports those itself.
    pub fn from_clap(error: &clap::Error) -> Option<Self> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let context = |kind| match error.get(kind) {
            Some(ContextValue::String(text)) => Some(text.clone()),
            Some(ContextValue::Strings(texts)) => Some(texts.join(", ")),
            _ => None,
        };
        let flag = context(ContextKind::InvalidArg)?;
        let value = context(ContextKind::InvalidValue).unwrap_or_default();
        let problem = match error.kind() {
            ErrorKind::InvalidValue => Problem::NotOneOf { value, accepted: context(ContextKind::ValidValue).unwrap_or_default() },
            ErrorKind::ValueValidation => {
                let source = std::error::Error::source(error)?;
                source.downcast_ref::<Problem>().cloned().unwrap_or_else(|| Problem::Unparsable { value, reason: source.to_string() })
            }
            _ => return None,
        };
        let arg = super::reference::variables().into_iter().find(|arg| arg.to_string() == flag)?;
        Some(Self::new(&arg.get_env()?.to_string_lossy(), problem))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("'{value}': {reason}")]
    Unparsable { value: String, reason: String },
    #[error("'{value}' is not one of {accepted}")]
    NotOneOf { value: String, accepted: String },
    #[error("must not be empty")]
    Empty,
    #[error("must be at least 1")]
    Zero,
    #[error("must be {min} to {max}{unit}")]
    OutOfRange { min: u64, max: u64, unit: &'static str },
    #[error("must be a non-negative number of seconds")]
    NotSeconds,
    #[error("must be a positive number of seconds")]
    NotPositiveSeconds,
    #[error("'{0}' is not a boolean")]
    NotBoolean(String),
    #[error("'{0}' is not host:port")]
    NotHostPort(String),
    #[error("'{0}' is not host:port with a port from 1 to 65535")]
    BadPort(String),
    #[error("'{0}' is not an http(s) URL with a host")]
    NotHttpUrl(String),
    #[error("not a JSON list of strings: {0}")]
    NotJsonList(String),
    #[error(transparent)]
    BadGrant(crate::auth::GrantError),
    #[error(transparent)]
    BadJwks(crate::auth::JwksError),
    #[error("needed when AUTH_JWKS_FILE or AUTH_JWKS_URL is set: JWTs are checked against it")]
    NeededForJwt,
    #[error("set AUTH_JWKS_FILE or AUTH_JWKS_URL, not both")]
    TwoJwksSources,
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the development default {0} is refused in production")]
    DevelopmentDefault(&'static str),
    #[error("the development credential is refused in production")]
    DevelopmentCredential,
    #[error("production needs AZURE_CONN_STR or AZURE_ACCOUNT_URL")]
    NoAzureCredential,
    #[error("gcs needs a service-account key file to sign URLs (or STORAGE_EMULATOR_HOST)")]
    NoGcsKey,
    #[error("replaced by WS_ANSWER_DEADLINE_MS (librdkafka's timeout follows it)")]
    ReplacedByAnswerDeadline,
    #[error("set the deadline here, not through the librdkafka property '{0}': it follows the deadline")]
    DeadlineAsProperty(String),
    #[error("{limit} disagrees with KAFKA_PROPERTY_MESSAGE_MAX_BYTES={property}: librdkafka's message.max.bytes follows this limit, so set it here only")]
    RecordLimitDisagrees { limit: usize, property: String },
    #[error("set the codec here, not through the librdkafka property '{property}' (one of {accepted})")]
    CodecAsProperty { property: String, accepted: &'static str },
    #[error(transparent)]
    Tls(#[from] super::tls::TlsProblem),
    #[error("'{value}' for librdkafka's '{property}' would break {promise}; refused unless KAFKA_ALLOW_UNSAFE_OVERRIDES=true")]
    UnsafeOverride { property: String, value: String, promise: &'static str },
}
