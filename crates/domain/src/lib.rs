//! Trachios' business core: users, orders, the order state machine, the ports the
//! adapters implement and the use-case services written against them.

pub mod address;
pub mod bulk;
pub mod catalog;
pub mod edit;
pub mod error;
pub mod export;
pub mod feed;
pub mod history;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod lines;
pub mod listing;
pub mod money;
pub mod names;
pub mod order;
pub mod order_search;
pub mod page_cache;
pub mod placement;
pub mod ports;
pub mod rendered_order;
pub mod rfc3339;
pub mod secret;
pub mod services;
pub mod transfer;
pub mod user;
pub mod webhook;

pub use address::{AddressInput, CountryCode, OrderNote, Phone, ShippingAddress};
pub use bulk::{
    BulkAction, BulkAnswer, BulkClaim, BulkItem, BulkKeyClaim, BulkRequest, BULK_KEY_LEASE,
    MAX_BULK_IDS,
};
pub use catalog::{
    ActiveFilter, MovementReason, NewProduct, Product, ProductChanges, ProductDescription,
    ProductFilter, ProductName, ProductQuery, Sku, Stock, StockAdjustment, StockDelta,
    StockMovement, StoredMovement, StoredProduct,
};
pub use edit::{EditedContents, OrderEdit, PendingEdit, ReplacedContents, EDITABLE_STATUS};
pub use error::{error_chain, retry_after_seconds, BoxError, DomainError};
pub use export::{ExportedOrder, EXPORT_CHUNK, EXPORT_COLUMNS};
pub use feed::{CommittedVersion, FeedEvent, FeedScope, OrderChange};
pub use history::{EventKind, OrderEvent};
pub use idempotency::{
    Creation, IdempotencyKey, KeyClaim, KeyedInsert, RequestFingerprint, IDEMPOTENCY_KEY_LIFETIME,
};
pub use ids::{OrderId, ProductId, UserId, WebhookId};
pub use input::{Email, ItemDescription, Name, Password, PasswordPolicy};
pub use lines::{LineRequest, LineRequests, OrderLine, PricedLines, ProductRef, Quantity};
pub use listing::{OrderFilter, Page, PageRequest, PageSize, UserFilter};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    Actor, ActorKind, AdvancedOrder, AutomaticStep, DueSteps, NewOrder, Order, OrderStatus,
    StatusChange,
};
pub use order_search::OrderSearch;
pub use page_cache::{CachedPage, ListGeneration, RenderedPage};
pub use placement::{
    LedgerEntry, LockedStock, OrderDetails, OrderItems, OrderRequest, OrderStockChange,
    PlacedContents, StockMove,
};
pub use rendered_order::{render_order, RenderedOrder};
pub use secret::{SealedSecret, SecretText};
pub use transfer::{RevokedToken, StoredEvent};
pub use user::{
    AccountStatus, Caller, NewUser, PasswordHash, Role, Session, TokenClaims, TokenId, User,
    UserChange, UserCredentials,
};
pub use webhook::{
    AttemptRecord, DeliveryLogEntry, NewWebhook, NextStep, PendingDelivery, RetryPolicy,
    SendOutcome, StoredDelivery, Subscription, Webhook, WebhookEvent, WebhookEventType, WebhookUrl,
};
