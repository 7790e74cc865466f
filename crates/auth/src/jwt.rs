use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use trachios_domain::ports::{IssuedToken, TokenService};
use trachios_domain::{Caller, DomainError, Role, User, UserId};

/// How long a token stays valid, as in the Go service.
pub const TOKEN_LIFETIME: Duration = Duration::hours(72);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iat: i64,
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
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
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
            sub: user.id.to_string(),
            role: user.role,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(DomainError::internal)?;
        Ok(IssuedToken { token, expires_at })
    }

    fn verify(&self, token: &str) -> Result<Caller, DomainError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| DomainError::Unauthenticated)?;
        let user_id = data
            .claims
            .sub
            .parse::<i64>()
            .ok()
            .and_then(|id| UserId::parse(id).ok())
            .ok_or(DomainError::Unauthenticated)?;
        Ok(Caller {
            user_id,
            role: data.claims.role,
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
            created_at: now,
            updated_at: now,
        }
    }

    fn forge(header: Header, claims: serde_json::Value, secret: &[u8]) -> String {
        encode(&header, &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
    }

    fn claims(exp: i64) -> serde_json::Value {
        serde_json::json!({"sub": "7", "role": "admin", "iat": Utc::now().timestamp(), "exp": exp, "jti": "x"})
    }

    #[test]
    fn an_issued_token_proves_the_user_and_role_for_72_hours() {
        let svc = JwtTokenService::new(SECRET).unwrap();
        let now = Utc::now();
        let issued = svc.issue(&user(), now).unwrap();
        assert_eq!(issued.expires_at, now + Duration::hours(72));
        assert_eq!(
            svc.verify(&issued.token).ok(),
            Some(Caller {
                user_id: UserId::parse(7).unwrap(),
                role: Role::Admin
            })
        );
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
        let token = forge(
            Header::default(),
            claims(Utc::now().timestamp() - 5),
            SECRET,
        );
        assert!(matches!(
            JwtTokenService::new(SECRET).unwrap().verify(&token),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn tokens_without_exp_are_rejected() {
        let claims = serde_json::json!({"sub": "7", "role": "admin", "iat": 1, "jti": "x"});
        let token = forge(Header::default(), claims, SECRET);
        assert!(matches!(
            JwtTokenService::new(SECRET).unwrap().verify(&token),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn a_wrong_signature_is_rejected() {
        let token = forge(
            Header::default(),
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
        let hs512 = forge(Header::new(Algorithm::HS512), valid.clone(), SECRET);
        assert!(matches!(
            svc.verify(&hs512),
            Err(DomainError::Unauthenticated)
        ));
        let good = forge(Header::default(), valid, SECRET);
        let payload = good.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
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
