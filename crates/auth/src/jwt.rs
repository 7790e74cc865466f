use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use trachios_domain::ports::{IssuedToken, TokenService};
use trachios_domain::{DomainError, Role, TokenClaims, TokenId, User, UserId};

/// How long a token stays valid, as in the Go service.
pub const TOKEN_LIFETIME: Duration = Duration::hours(72);

/// Who issues tokens and for whom (RFC 8725 §3.9/3.10): a token signed with the same secret
/// for another purpose is not accepted as one of ours.
pub const ISSUER: &str = "trachios";
pub const AUDIENCE: &str = "trachios-api";
/// The explicit type of our access tokens (RFC 8725 §3.11, RFC 9068's media type).
pub const TOKEN_TYPE: &str = "at+jwt";

/// Our jtis are UUIDs; the bound keeps a token id a small key wherever it is stored.
const MAX_JTI_LEN: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    role: Role,
    iat: i64,
    /// `iat` to the millisecond: a token issued in the same second as the user's "log out
    /// everywhere" but after it is not ended by it. Tokens issued before it was added have
    /// only `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_ms: Option<i64>,
    exp: i64,
    jti: String,
}

/// Issues and verifies HS256 JWTs signed with one shared secret.
pub struct JwtTokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// A signing key jsonwebtoken would not accept.
#[derive(Debug, thiserror::Error)]
#[error("JWT key setup failed: {0}")]
pub struct TokenSetupError(#[from] jsonwebtoken::errors::Error);

impl JwtTokenService {
    pub fn new(secret: &[u8]) -> Result<Self, TokenSetupError> {
        // Pinning the algorithm list is what rejects `alg: none` and key-confusion tokens.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        validation.validate_exp = true;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }
}

impl TokenService for JwtTokenService {
    fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<IssuedToken, DomainError> {
        let expires_at = now + TOKEN_LIFETIME;
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.id.to_string(),
            role: user.role,
            iat: now.timestamp(),
            iat_ms: Some(now.timestamp_millis()),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        let token = encode(&header, &claims, &self.encoding).map_err(DomainError::internal)?;
        Ok(IssuedToken {
            token: trachios_domain::SecretText::new(token),
            expires_at,
        })
    }

    fn verify(&self, token: &str) -> Result<TokenClaims, DomainError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| DomainError::Unauthenticated)?;
        if data.header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(DomainError::Unauthenticated);
        }
        let claims = data.claims;
        let user_id = claims
            .sub
            .parse::<i64>()
            .ok()
            .and_then(|id| UserId::parse(id).ok())
            .ok_or(DomainError::Unauthenticated)?;
        let expires_at =
            DateTime::from_timestamp(claims.exp, 0).ok_or(DomainError::Unauthenticated)?;
        let issued_at = match claims.iat_ms {
            Some(ms) if ms.div_euclid(1000) == claims.iat => DateTime::from_timestamp_millis(ms),
            Some(_) => None,
            None => DateTime::from_timestamp(claims.iat, 0),
        }
        .ok_or(DomainError::Unauthenticated)?;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(DomainError::Unauthenticated);
        }
        Ok(TokenClaims {
            user_id,
            role: claims.role,
            token_id: TokenId::new(claims.jti),
            issued_at,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn user() -> User {
        let now = Utc::now();
        User {
            id: UserId::parse(7).unwrap(),
            name: trachios_domain::Name::parse("Jo").unwrap(),
            email: trachios_domain::Email::parse("jo@x.io").unwrap(),
            role: Role::Admin,
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    fn forge(header: Header, claims: serde_json::Value, secret: &[u8]) -> String {
        encode(&header, &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
    }

    fn claims(exp: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "7", "role": "admin",
            "iat": Utc::now().timestamp(), "exp": exp, "jti": "x"
        })
    }

    /// Our header: HS256 and the access-token type.
    fn typed() -> Header {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header
    }

    #[test]
    fn a_token_forged_here_with_the_right_secret_passes_so_the_refusals_below_mean_something() {
        let token = forge(typed(), claims(Utc::now().timestamp() + 60), SECRET);
        let verified = JwtTokenService::new(SECRET)
            .unwrap()
            .verify(&token)
            .unwrap();
        assert_eq!(verified.token_id, TokenId::new("x".into()));
    }

    #[test]
    fn another_issuer_audience_or_type_is_rejected() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        let exp = Utc::now().timestamp() + 60;
        for (field, value) in [("iss", "someone-else"), ("aud", "another-api")] {
            let mut other = claims(exp);
            other[field] = serde_json::json!(value);
            let token = forge(typed(), other, SECRET);
            assert!(
                matches!(svc.verify(&token), Err(DomainError::Unauthenticated)),
                "{field}"
            );
        }
        for field in ["iss", "aud", "jti"] {
            let mut missing = claims(exp);
            missing.as_object_mut().unwrap().remove(field);
            let token = forge(typed(), missing, SECRET);
            assert!(svc.verify(&token).is_err(), "without {field}");
        }
        let untyped = forge(Header::new(Algorithm::HS256), claims(exp), SECRET);
        assert!(matches!(
            svc.verify(&untyped),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn an_issued_token_proves_the_user_and_role_for_72_hours() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        let now = Utc::now();
        let issued = svc.issue(&user(), now).unwrap();
        assert_eq!(issued.expires_at, now + Duration::hours(72));
        let verified = svc.verify(issued.token.expose()).unwrap();
        assert_eq!(
            (
                verified.user_id,
                verified.role,
                verified.expires_at.timestamp()
            ),
            (
                UserId::parse(7).unwrap(),
                Role::Admin,
                issued.expires_at.timestamp()
            )
        );
        let header = jsonwebtoken::decode_header(issued.token.expose()).unwrap();
        assert_eq!(header.typ.as_deref(), Some(TOKEN_TYPE));
    }

    #[test]
    fn every_token_has_its_own_jti() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        let now = Utc::now();
        assert_ne!(
            svc.issue(&user(), now).unwrap().token,
            svc.issue(&user(), now).unwrap().token
        );
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let token = forge(typed(), claims(Utc::now().timestamp() - 5), SECRET);
        assert!(matches!(
            JwtTokenService::new(SECRET).unwrap().verify(&token),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn tokens_without_exp_are_rejected() {
        let mut claims = claims(0);
        claims.as_object_mut().unwrap().remove("exp");
        let token = forge(typed(), claims, SECRET);
        assert!(matches!(
            JwtTokenService::new(SECRET).unwrap().verify(&token),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn a_wrong_signature_is_rejected() {
        let token = forge(
            typed(),
            claims(Utc::now().timestamp() + 60),
            b"another-secret-another-secret-xx",
        );
        assert!(matches!(
            JwtTokenService::new(SECRET).unwrap().verify(&token),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn other_algorithms_and_alg_none_are_rejected() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        let valid = claims(Utc::now().timestamp() + 60);
        let mut hs512 = typed();
        hs512.alg = Algorithm::HS512;
        let hs512 = forge(hs512, valid.clone(), SECRET);
        assert!(matches!(
            svc.verify(&hs512),
            Err(DomainError::Unauthenticated)
        ));
        let good = forge(typed(), valid, SECRET);
        let payload = good.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"at+jwt"}
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{payload}.");
        assert!(matches!(
            svc.verify(&none),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        for token in ["", "abc", "a.b.c", "....."] {
            assert!(
                matches!(svc.verify(token), Err(DomainError::Unauthenticated)),
                "{token}"
            );
        }
    }
}
