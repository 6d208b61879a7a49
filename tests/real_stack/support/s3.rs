//! Reading objects back from the S3 server, with signed requests.

use std::time::SystemTime;

use super::stack::{bucket, s3_endpoint};

/// GETs an object with a SigV4-signed request; answers (status, body).
pub fn s3_get(key_path: &str) -> (u16, Vec<u8>) {
    use aws_sigv4::http_request::{sign, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new("rustfsadmin", "rustfsadmin", None, None, "tests").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut request = http::Request::builder().uri(format!("{}/{}/{key_path}", s3_endpoint(), bucket())).body(()).unwrap();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new("GET", &uri, std::iter::empty(), SignableBody::Bytes(&[])).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.run(request).expect("S3 GET");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().unwrap())
}
