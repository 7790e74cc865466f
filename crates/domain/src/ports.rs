//! The ports: what the domain needs from the outside world.

use crate::{SealedSecret, SecretText};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::{
    AccountStatus, AdvancedOrder, BulkClaim, BulkKeyClaim, CachedPage, CommittedVersion,
    DomainError, DueSteps, Email, FeedEvent, FeedScope, IdempotencyKey, KeyClaim, KeyedInsert,
    ListGeneration, NewOrder, NewUser, Order, OrderChange, OrderEvent, OrderFilter, OrderId,
    PageSize, Password, PasswordHash, PendingEdit, RenderedOrder, RenderedPage, StatusChange,
    TokenClaims, TokenId, User, UserChange, UserCredentials, UserFilter, UserId,
};
use crate::{
    Actor, NewProduct, Product, ProductChanges, ProductFilter, ProductId, StockAdjustment,
    StockMovement,
};
use crate::{
    AttemptRecord, DeliveryLogEntry, NewWebhook, PendingDelivery, SendOutcome, Webhook, WebhookId,
    WebhookUrl,
};

/// Stored accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new account; `EmailTaken` when the email is registered already.
    async fn insert(&self, user: NewUser) -> Result<User, DomainError>;
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, DomainError>;
    async fn find_credentials(&self, email: &Email)
        -> Result<Option<UserCredentials>, DomainError>;
    /// Replaces the account's password hash and ends every token of the account issued
    /// until `at` except `kept`, in one statement; false if there is no such account.
    async fn change_password(
        &self,
        id: UserId,
        hash: PasswordHash,
        at: DateTime<Utc>,
        kept: &TokenId,
    ) -> Result<bool, DomainError>;
    /// Applies the change (ending the account's tokens issued until `at` when
    /// `change.ends_sessions()`) and returns the account as it is now; `None` if there is
    /// no such account.
    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, DomainError>;
    /// Up to `limit` users that match the filter and have ids below `before`, newest first.
    async fn list(
        &self,
        filter: &UserFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<User>, DomainError>;
    /// The e-mail of each of these accounts that exists, in no particular order.
    async fn emails(&self, ids: &[UserId]) -> Result<Vec<(UserId, Email)>, DomainError>;
}

/// Stored orders and their status history.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Stores the order and its creation event exactly as `Order::place` decided them.
    async fn insert(&self, order: NewOrder) -> Result<Order, DomainError>;
    async fn find_by_id(&self, id: OrderId) -> Result<Option<Order>, DomainError>;
    /// How many of the customer's orders are not finished (they still have a next step),
    /// counted up to `up_to`, through an index of unfinished orders.
    async fn count_open(&self, customer: UserId, up_to: u32) -> Result<u32, DomainError>;
    /// The request that holds the customer's idempotency key, if a live one does
    /// (`KeyedInsert::Taken`); `None` when the key is free.
    async fn find_claim(
        &self,
        customer: UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyedInsert>, DomainError>;
    /// Up to `limit` orders that match the filter and have ids below `before`, newest
    /// first, read through an index whatever the table's size.
    async fn list(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Order>, DomainError>;
    /// Applies the change, and records its event, if the order still has the expected
    /// version; `None` if it lost the race.
    async fn transition(&self, change: StatusChange) -> Result<Option<Order>, DomainError>;
    /// Decides the edit against the products it names, locked, and stores the new contents,
    /// their stock movements and an `edited` event, if the order still has the expected
    /// version; `None` if it lost the race, an error (nothing written) if it is refused.
    async fn edit(&self, edit: PendingEdit) -> Result<Option<Order>, DomainError>;
    /// Moves up to `limit` orders due at `due.now` one step on, as `due.steps` says, each
    /// exactly once across every process sharing the store, and returns them as they are now.
    async fn advance_due(
        &self,
        due: &DueSteps,
        limit: i64,
    ) -> Result<Vec<AdvancedOrder>, DomainError>;
    /// Every recorded change of the order, oldest first (empty for an unknown order).
    async fn history(&self, id: OrderId) -> Result<Vec<OrderEvent>, DomainError>;
    /// Stores the order under the caller's key in the same transaction, unless the key is
    /// taken and unexpired; then stores nothing and returns what the key's first request
    /// asked for and got. Concurrent inserts under one key store at most one order.
    async fn insert_keyed(
        &self,
        order: NewOrder,
        claim: KeyClaim,
    ) -> Result<KeyedInsert, DomainError>;
    /// Forgets up to `limit` keys (of creations and of bulk requests) that expired before
    /// `now`; returns how many.
    async fn purge_expired_keys(&self, now: DateTime<Utc>, limit: i64) -> Result<u64, DomainError>;
    /// Claims the caller's key for a bulk request about to run, unless a live claim holds
    /// it: then returns what that one asked for and, if it was answered, its answer.
    /// Concurrent claims of one key leave exactly one `Claimed`.
    async fn claim_bulk_key(
        &self,
        user: UserId,
        claim: &BulkClaim,
    ) -> Result<BulkKeyClaim, DomainError>;
    /// Keeps the answer of the claimed request for its repeats; nothing if the claim was
    /// taken over meanwhile.
    async fn keep_bulk_answer(
        &self,
        user: UserId,
        claim: &BulkClaim,
        response: &str,
    ) -> Result<(), DomainError>;
    /// Frees a claim whose request failed before it had an answer, so that a repeat runs it.
    async fn release_bulk_key(&self, user: UserId, claim: &BulkClaim) -> Result<(), DomainError>;
}

/// Changes of the orders in one scope, from the moment of subscribing; dropping it ends
/// the subscription.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChangeSubscription: Send {
    /// The next change, or `Idle` when none came within `idle`. Cancel-safe.
    async fn next(&mut self, idle: std::time::Duration) -> FeedEvent;
}

/// Where committed changes of orders, made by any process, can be watched.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ChangeFeed: Send + Sync {
    fn subscribe(&self, scope: FeedScope) -> Box<dyn ChangeSubscription>;
}

/// The sending side of a process's change feed, for the adapter that learns of committed
/// changes (a follower of the database's events, or an embedded store after its commit).
pub trait ChangePublisher: Send + Sync {
    /// Whether anyone watches this order now; adapters skip work nobody would see.
    fn wants(&self, order: OrderId, customer: UserId) -> bool;
    /// Hands committed changes, in commit order, to their subscribers.
    fn publish(&self, changes: Vec<OrderChange>);
}

/// A cache that several processes share, told of every change any process committed (by
/// the follower of the database's events), so that it serves no version older than one
/// committed even when the writer could not update it.
pub trait ChangeWitness: Send + Sync {
    /// What committed changes left, in commit order.
    fn changed(&self, changes: &[CommittedVersion]);
    /// How far back it must hear of changes committed before the feed was first read.
    fn looks_back(&self) -> std::time::Duration;
    /// Every change committed before `as_of` has been passed to `changed`.
    fn caught_up(&self, as_of: std::time::Instant);
    /// Some changes may never be passed (the feed lost its place): nothing the cache holds
    /// is to be trusted until it has all expired.
    fn lost_track(&self);
}

/// Renders an order for API clients: implemented by the HTTP adapter, used by the order
/// caches so that what they keep is exactly what a response carries.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait OrderRenderer: Send + Sync {
    fn render(&self, order: &Order) -> Result<Bytes, DomainError>;
}

/// A cache of single orders, kept rendered (see `rendered_order`). Every method may fail;
/// callers treat a failure as a miss.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderCache: Send + Sync {
    async fn get(&self, id: OrderId) -> Result<Option<RenderedOrder>, DomainError>;
    /// Stores the order, rendered, unless the cache already knows a newer version of it.
    async fn put(&self, order: &Order) -> Result<(), DomainError>;
    /// Records that these orders changed, so that no older version of them, nor any
    /// cached page of their customers' lists, is served or stored.
    async fn replace(&self, orders: &[Order]) -> Result<(), DomainError>;
    /// After a `replace` that failed: returns once no process serves, from this cache, an
    /// order or page older than those changes — at once for a cache only this process
    /// uses, after the other processes' lease on their feed for a shared one. A write waits
    /// for it before it is acknowledged.
    async fn settle(&self);
    /// The customer's first page of `size` orders, if held under the current generation.
    async fn first_page(&self, customer: UserId, size: PageSize)
        -> Result<CachedPage, DomainError>;
    /// Keeps a first page that was loaded after `first_page` answered `generation`.
    async fn put_first_page(
        &self,
        customer: UserId,
        size: PageSize,
        generation: ListGeneration,
        page: &RenderedPage,
    ) -> Result<(), DomainError>;
}

/// Password hashing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, DomainError>;
    /// Checks a password; with no hash (unknown account) it spends the same time and
    /// answers false, so that timing does not reveal which emails exist.
    async fn verify(
        &self,
        password: &Password,
        hash: Option<PasswordHash>,
    ) -> Result<bool, DomainError>;
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: SecretText,
    pub expires_at: DateTime<Utc>,
}

/// Access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<IssuedToken, DomainError>;
    /// What a token proves; `Unauthenticated` for anything not valid now.
    fn verify(&self, token: &str) -> Result<TokenClaims, DomainError>;
}

/// The state of accounts that every request's token is checked against: roles, disabled
/// accounts and logged-out tokens, shared by every process.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStates: Send + Sync {
    /// The account behind a token as it is now; `None` when the account no longer exists.
    async fn status(
        &self,
        user_id: UserId,
        token_id: &TokenId,
    ) -> Result<Option<AccountStatus>, DomainError>;
    /// Rejects the token from now until it expires, in every process.
    async fn revoke(
        &self,
        user_id: UserId,
        token_id: &TokenId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
    /// Rejects every token of the account issued until `at`, in every process;
    /// `current`, the token asking, at once in this one.
    async fn end_sessions(
        &self,
        user_id: UserId,
        at: DateTime<Utc>,
        current: &TokenId,
    ) -> Result<(), DomainError>;
}

/// The current time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A dependency that can tell whether it answers right now, for the readiness probe.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DependencyProbe: Send + Sync {
    /// `Ok` when one round trip to the dependency succeeded within its timeout.
    async fn check(&self) -> Result<(), DomainError>;
}

/// Stored webhook endpoints, their outbox of deliveries and the log of attempts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores the endpoint unless `max` endpoints exist already (then `None`). Order events
    /// committed from then on are recorded for it.
    async fn insert(&self, webhook: NewWebhook, max: usize)
        -> Result<Option<Webhook>, DomainError>;
    /// Every endpoint, oldest first (at most the `max` that `insert` allows).
    async fn list(&self) -> Result<Vec<Webhook>, DomainError>;
    /// Forgets the endpoint, its pending deliveries and its log; false if there is none.
    async fn delete(&self, id: WebhookId) -> Result<bool, DomainError>;
    /// Up to `limit` entries of the endpoint's log with ids below `before`, newest first;
    /// `None` when there is no such endpoint.
    async fn attempts(
        &self,
        id: WebhookId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<DeliveryLogEntry>>, DomainError>;
    /// Claims up to `limit` deliveries due at `now` for one attempt each, across every
    /// process sharing the store: only the oldest undelivered event of an order per
    /// endpoint is due, and a claimed delivery is not due again before `lease_until`.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingDelivery>, DomainError>;
    /// Logs the attempts and applies what follows from each, unless a later attempt of the
    /// same delivery was claimed meanwhile.
    async fn record(&self, attempts: Vec<AttemptRecord>) -> Result<(), DomainError>;
    /// Forgets up to `limit` deliveries and log entries finished before `before`; returns
    /// how many rows went.
    async fn purge_finished(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, DomainError>;
    /// Every endpoint's signing key as stored (at most the `max` that `insert` allows).
    async fn sealed_secrets(&self) -> Result<Vec<(WebhookId, SealedSecret)>, DomainError>;
    /// Stores `new` as the endpoint's key if `current` is still the stored one; whether it
    /// did (another process may have sealed it again first).
    async fn replace_secret(
        &self,
        id: WebhookId,
        current: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, DomainError>;
}

/// The catalog and its stock ledger. Every change of stock writes its movement in the same
/// transaction, so that a product's stock is always the sum of its movements.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProductRepository: Send + Sync {
    /// Stores the product and, when it comes with stock, one `adjustment` movement by
    /// `actor`; `None` when another product has its sku (without regard to case).
    async fn insert(
        &self,
        product: NewProduct,
        actor: Actor,
    ) -> Result<Option<Product>, DomainError>;
    async fn find(&self, id: ProductId) -> Result<Option<Product>, DomainError>;
    /// Up to `limit` products the filter keeps, with ids below `before`, newest first.
    async fn list(
        &self,
        filter: &ProductFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Product>, DomainError>;
    /// Applies the changes; `None` when there is no such product.
    async fn update(
        &self,
        id: ProductId,
        changes: &ProductChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Product>, DomainError>;
    /// Moves the stock by the adjustment's delta, with its movement; `OutOfStock` (nothing
    /// changed) when fewer units are left than it takes, whatever runs at the same time;
    /// `None` when there is no such product.
    async fn adjust_stock(
        &self,
        id: ProductId,
        adjustment: &StockAdjustment,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<Option<Product>, DomainError>;
    /// Up to `limit` of the product's movements with ids below `before`, newest first;
    /// `None` when there is no such product.
    async fn movements(
        &self,
        id: ProductId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<StockMovement>>, DomainError>;
}

/// Seals the secrets the store keeps (webhook signing keys), so that a copy of the
/// database, a backup or a replica does not hand them over.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretSealer: Send + Sync {
    fn seal(&self, secret: &SecretText) -> SealedSecret;
    /// `Unavailable` when it was sealed under a key this process does not hold (another
    /// process may), `Internal` when it was tampered with.
    fn open(&self, sealed: &SealedSecret) -> Result<SecretText, DomainError>;
    /// Whether it should be sealed again: under an older key, or not sealed at all.
    fn is_stale(&self, sealed: &SealedSecret) -> bool;
}

/// The way out to webhook endpoints.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Refuses (`Validation`, naming `url`) an endpoint that may not be called, such as one
    /// on a private network.
    async fn vet(&self, url: &WebhookUrl) -> Result<(), DomainError>;
    /// A fresh signing key.
    fn new_secret(&self) -> SecretText;
    /// Makes one attempt, signed with `secret`; every failure is an outcome, never an error.
    async fn send(&self, delivery: &PendingDelivery, secret: &SecretText) -> SendOutcome;
}
