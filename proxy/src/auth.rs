//! Edge authentication: Magento's bearer tokens validated at the proxy, so the new services learn
//! the caller from headers only the proxy sets.
//!
//! Since 2.4.4 Magento issues admin and customer tokens as JWS (Magento_JwtUserToken): header
//! `{"kid": "1", "alg": "HS256"}`, claims `uid` (the user's id), `utypid` (the user type of
//! `UserContextInterface`: 1 integration, 2 admin, 3 customer), `iat` and `exp`. The HMAC key is
//! derived from `crypt/key` in `app/etc/env.php` as `SecretBasedJwksFactory` does it: the last of
//! the whitespace-separated keys, padded on both sides with `&` to 2048 bytes (PHP's
//! `str_pad(…, 2048, '&', STR_PAD_BOTH)`). The algorithm is Magento's
//! `webapi/jwtauth/jwt_alg` setting: HS256 (the default), HS384 or HS512.
//!
//! What the proxy cannot check: revocation (`jwt_auth_revoked`, written when a customer logs
//! out or an admin revokes tokens) lives in Magento's database. A revoked token stays valid at the
//! proxy until its `exp` (60 minutes by default). Requests carrying a token the proxy cannot
//! verify (opaque OAuth/integration tokens, a bad signature, an expired token, no key configured)
//! go to Magento, which answers them as it always has.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::Deserialize;

/// The identity header the services read (`admin`, `integration` or `customer:<id>`).
pub const IDENTITY_HEADER: &str = "x-ficus-identity";
/// The header carrying the shared secret that proves a request came through the proxy.
pub const SECRET_HEADER: &str = "x-ficus-gateway-secret";

/// Magento's JWT algorithms for user tokens (JWS only; JWE tokens are not read here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Algorithm {
    /// HMAC with SHA-256, Magento's default.
    #[default]
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }
}

/// Who a valid token says the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// An integration (user type 1).
    Integration(u64),
    /// An admin user (user type 2).
    Admin(u64),
    /// A customer (user type 3).
    Customer(u64),
}

impl Identity {
    /// The value of [`IDENTITY_HEADER`] for this caller.
    pub fn header_value(self) -> String {
        match self {
            Identity::Integration(_) => "integration".to_owned(),
            Identity::Admin(_) => "admin".to_owned(),
            Identity::Customer(id) => format!("customer:{id}"),
        }
    }
}

/// Why a token was not accepted (for the access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not three base64url parts with JSON in the first two: an opaque (OAuth) token, or garbage.
    NotJwt,
    /// The header names another algorithm than Magento's configured one.
    Algorithm,
    /// The signature does not match the key.
    Signature,
    /// `exp` is missing (for a non-integration token) or has passed.
    Expired,
    /// `uid` or `utypid` is missing, or the user type is not one the services know.
    Claims,
    /// No Magento key is configured, so no token can be verified.
    NoKey,
}

impl Rejected {
    /// A short word for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::NotJwt => "not_jwt",
            Rejected::Algorithm => "algorithm",
            Rejected::Signature => "signature",
            Rejected::Expired => "expired",
            Rejected::Claims => "claims",
            Rejected::NoKey => "no_key",
        }
    }
}

/// The key and algorithm Magento signs its tokens with.
#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
    algorithm: Algorithm,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("key", &"<secret>")
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: &'a str,
}

#[derive(Deserialize)]
struct Claims {
    uid: Option<u64>,
    utypid: Option<u64>,
    exp: Option<i64>,
}

impl TokenKey {
    /// The key Magento derives from `crypt/key` (the value in `app/etc/env.php`, possibly several
    /// keys separated by whitespace after a key rotation: the last one signs).
    pub fn from_crypt_key(crypt_key: &str, algorithm: Algorithm) -> Self {
        let last = crypt_key.split_whitespace().last().unwrap_or("");
        Self {
            key: pad_both(last.as_bytes(), 2048, b'&'),
            algorithm,
        }
    }

    /// Checks `token` (the part after `Bearer `) at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Identity, Rejected> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejected::NotJwt);
        };
        let header = URL_SAFE_NO_PAD.decode(h).map_err(|_| Rejected::NotJwt)?;
        let header: Header<'_> = serde_json::from_slice(&header).map_err(|_| Rejected::NotJwt)?;
        if header.alg != self.algorithm.name() {
            return Err(Rejected::Algorithm);
        }
        let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| Rejected::Signature)?;
        let signed = &token[..h.len() + 1 + p.len()];
        if !self.signature_matches(signed.as_bytes(), &signature) {
            return Err(Rejected::Signature);
        }
        let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| Rejected::NotJwt)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| Rejected::Claims)?;
        let (Some(uid), Some(utypid)) = (claims.uid, claims.utypid) else {
            return Err(Rejected::Claims);
        };
        let identity = match utypid {
            1 => Identity::Integration(uid),
            2 => Identity::Admin(uid),
            3 => Identity::Customer(uid),
            _ => return Err(Rejected::Claims),
        };
        // Magento's ExpirationValidator skips integration tokens; the others must carry a future exp.
        match (identity, claims.exp) {
            (Identity::Integration(_), None) => {}
            (_, Some(exp)) if exp > now => {}
            _ => return Err(Rejected::Expired),
        }
        Ok(identity)
    }

    /// Signs `header.payload` (for tests and tools that issue tokens the way Magento does).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = format!(r#"{{"kid":"1","alg":"{}"}}"#, self.algorithm.name());
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.mac(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length.
            let mut mac = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self.algorithm {
            Algorithm::HS256 => run::<hmac::Hmac<sha2::Sha256>>(&self.key, data),
            Algorithm::HS384 => run::<hmac::Hmac<sha2::Sha384>>(&self.key, data),
            Algorithm::HS512 => run::<hmac::Hmac<sha2::Sha512>>(&self.key, data),
        }
    }

    fn signature_matches(&self, data: &[u8], signature: &[u8]) -> bool {
        crate::proxy::constant_time_eq(&self.mac(data), signature)
    }
}

/// PHP's `str_pad($s, $len, $pad, STR_PAD_BOTH)` for a one-byte pad: the left side gets the
/// smaller half.
fn pad_both(s: &[u8], len: usize, pad: u8) -> Vec<u8> {
    if s.len() >= len {
        return s.to_vec();
    }
    let total = len - s.len();
    let left = total / 2;
    let mut out = vec![pad; left];
    out.extend_from_slice(s);
    out.resize(len, pad);
    out
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme is case-insensitive).
pub fn bearer(value: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(value).ok()?;
    let (scheme, token) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 computed independently: RFC 2104 over the sha2 crate, not through `hmac`.
    fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&sha2::Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = sha2::Sha256::digest([ipad.as_slice(), data].concat());
        sha2::Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
    }

    /// A token written by hand the way Magento writes one, signed with the independent HMAC.
    fn magento_token(crypt_key_last: &str, payload: &str) -> String {
        let total = 2048 - crypt_key_last.len();
        let key = format!(
            "{}{crypt_key_last}{}",
            "&".repeat(total / 2),
            "&".repeat(total - total / 2)
        );
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"kid":"1","alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let sig = hmac_sha256(key.as_bytes(), signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn accepts_magento_tokens_and_names_the_caller() {
        // Two keys after a rotation: Magento signs with the last. An odd length pads unevenly.
        let key = TokenKey::from_crypt_key(
            "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00\n 5a1e8c2b9d7f4e6a0b3c5d7e9f1a2b3c4",
            Algorithm::HS256,
        );
        let now = 1_700_000_000;
        let customer = magento_token(
            "5a1e8c2b9d7f4e6a0b3c5d7e9f1a2b3c4",
            r#"{"uid":42,"utypid":3,"iat":1699999000,"exp":1700002600}"#,
        );
        assert_eq!(key.verify(&customer, now), Ok(Identity::Customer(42)));
        let admin = magento_token(
            "5a1e8c2b9d7f4e6a0b3c5d7e9f1a2b3c4",
            r#"{"uid":1,"utypid":2,"iat":1699999000,"exp":1700002600}"#,
        );
        assert_eq!(key.verify(&admin, now), Ok(Identity::Admin(1)));
        assert_eq!(Identity::Customer(42).header_value(), "customer:42");
        // Signed with the old key: refused.
        let old = magento_token(
            "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00",
            r#"{"uid":42,"utypid":3,"iat":1699999000,"exp":1700002600}"#,
        );
        assert_eq!(key.verify(&old, now), Err(Rejected::Signature));
        // Expired at exactly exp, and later.
        assert_eq!(key.verify(&customer, 1_700_002_600), Err(Rejected::Expired));
        // A guest (4) or unknown user type is not an identity.
        let guest = magento_token(
            "5a1e8c2b9d7f4e6a0b3c5d7e9f1a2b3c4",
            r#"{"uid":0,"utypid":4,"exp":1700002600}"#,
        );
        assert_eq!(key.verify(&guest, now), Err(Rejected::Claims));
    }

    #[test]
    fn refuses_what_is_not_a_valid_token() {
        let key = TokenKey::from_crypt_key("k", Algorithm::HS256);
        let now = 1_700_000_000;
        let good = key.sign(&serde_json::json!({"uid": 7, "utypid": 3, "exp": now + 60}));
        assert_eq!(key.verify(&good, now), Ok(Identity::Customer(7)));
        // An opaque OAuth token (32 characters, what integrations send).
        assert_eq!(
            key.verify("0123456789abcdef0123456789abcdef", now),
            Err(Rejected::NotJwt)
        );
        // The payload changed after signing (uid 7 → 8).
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"uid":8,"utypid":3,"exp":{}}}"#, now + 60));
        parts[1] = &forged;
        assert_eq!(key.verify(&parts.join("."), now), Err(Rejected::Signature));
        // alg "none" with an empty signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"uid":1,"utypid":2}"#)
        );
        assert_eq!(key.verify(&none, now), Err(Rejected::Algorithm));
        // A token of another algorithm than the configured one.
        let hs512 = TokenKey::from_crypt_key("k", Algorithm::HS512)
            .sign(&serde_json::json!({"uid": 7, "utypid": 3, "exp": now + 60}));
        assert_eq!(key.verify(&hs512, now), Err(Rejected::Algorithm));
        // A customer token without exp.
        let no_exp = key.sign(&serde_json::json!({"uid": 7, "utypid": 3}));
        assert_eq!(key.verify(&no_exp, now), Err(Rejected::Expired));
        // An integration token without exp is valid (Magento does not expire them).
        let integration = key.sign(&serde_json::json!({"uid": 3, "utypid": 1}));
        assert_eq!(key.verify(&integration, now), Ok(Identity::Integration(3)));
    }

    #[test]
    fn reads_the_bearer_header() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
    }

    #[test]
    fn pads_like_php() {
        assert_eq!(pad_both(b"abc", 8, b'&'), b"&&abc&&&".to_vec());
        assert_eq!(pad_both(b"abcd", 8, b'&'), b"&&abcd&&".to_vec());
        assert_eq!(pad_both(b"abcdefghij", 8, b'&'), b"abcdefghij".to_vec());
    }
}
